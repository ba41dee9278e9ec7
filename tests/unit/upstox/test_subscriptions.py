"""Client-side subscription limits (UPSTOX.md §2.3) and the replay book."""

from __future__ import annotations

import pytest

from quant.core.events import FeedMode
from quant.upstox.errors import FeedSubscriptionLimitError
from quant.upstox.subscriptions import SubscriptionBook


def keys(n: int, start: int = 0) -> list[str]:
    return [f"NSE_FO|{i}" for i in range(start, start + n)]


def test_individual_limits_apply_when_one_mode_is_used() -> None:
    book = SubscriptionBook()
    book.subscribe(keys(5000), FeedMode.LTPC)
    with pytest.raises(FeedSubscriptionLimitError, match="individual limit of 5000"):
        book.subscribe(keys(1, 5000), FeedMode.LTPC)
    assert len(book) == 5000
    full = SubscriptionBook()
    full.subscribe(keys(2000), FeedMode.FULL)
    with pytest.raises(FeedSubscriptionLimitError, match="mode full exceeds"):
        full.subscribe(keys(1, 9000), FeedMode.FULL)


def test_combined_limits_apply_when_several_modes_are_used() -> None:
    book = SubscriptionBook()
    book.subscribe(keys(2000), FeedMode.LTPC)
    book.subscribe(keys(1500, 10_000), FeedMode.FULL)
    with pytest.raises(FeedSubscriptionLimitError, match="combined limit of 1500"):
        book.subscribe(keys(1, 20_000), FeedMode.FULL)
    big = SubscriptionBook()
    big.subscribe(keys(3000), FeedMode.LTPC)
    with pytest.raises(FeedSubscriptionLimitError, match="ltpc exceeds Upstox's combined limit"):
        big.subscribe(keys(1, 50_000), FeedMode.OPTION_GREEKS)
    assert big.counts()[FeedMode.OPTION_GREEKS] == 0  # refused atomically


def test_resubscribing_moves_a_key_and_change_mode_needs_a_subscription() -> None:
    book = SubscriptionBook()
    book.subscribe(["NSE_EQ|A1", "NSE_EQ|B2"], FeedMode.LTPC)
    book.subscribe(["NSE_EQ|A1"], FeedMode.FULL)
    assert book.by_mode() == {FeedMode.FULL: ["NSE_EQ|A1"], FeedMode.LTPC: ["NSE_EQ|B2"]}
    book.change_mode(["NSE_EQ|B2"], FeedMode.OPTION_GREEKS)
    assert book.mode_of("NSE_EQ|B2") is FeedMode.OPTION_GREEKS
    with pytest.raises(ValueError, match="not subscribed"):
        book.change_mode(["NSE_EQ|C3"], FeedMode.FULL)
    assert book.unsubscribe(["NSE_EQ|A1", "NSE_EQ|C3"]) == ["NSE_EQ|A1"]


def test_d30_needs_plus_and_bad_keys_are_refused() -> None:
    with pytest.raises(FeedSubscriptionLimitError, match="Upstox Plus"):
        SubscriptionBook().subscribe(["NSE_EQ|A1"], FeedMode.FULL_D30)
    plus = SubscriptionBook(upstox_plus=True)
    plus.subscribe(keys(50), FeedMode.FULL_D30)
    with pytest.raises(FeedSubscriptionLimitError):
        plus.subscribe(keys(1, 100), FeedMode.FULL_D30)
    with pytest.raises(ValueError, match="malformed instrument_key"):
        SubscriptionBook().subscribe(["RELIANCE"], FeedMode.LTPC)


def test_limits_can_be_switched_off() -> None:
    book = SubscriptionBook(enforce=False)
    book.subscribe(keys(6000), FeedMode.LTPC)
    assert len(book) == 6000
