"""Feed-limit enforcement and socket assignment of the ingestor's subscription book."""

from __future__ import annotations

import pytest

from quant.core.events import FeedMode
from quant.ingestor.subscriptions import FeedLimits, SubscriptionBook


def _keys(n: int, prefix: str = "NSE_EQ|K") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def test_individual_limit_applies_when_one_mode_is_used() -> None:
    book = SubscriptionBook(FeedLimits(), connections=2)
    change = book.subscribe(_keys(2001), FeedMode.FULL)
    assert book.counts() == {FeedMode.FULL: 2000}
    assert len(change.refused) == 1
    assert "full limit reached" in change.refused[0].reason
    assert "individual" in change.refused[0].reason


def test_combined_limit_applies_once_two_modes_are_used() -> None:
    book = SubscriptionBook(FeedLimits(), connections=1)
    book.subscribe(_keys(1600), FeedMode.FULL)
    # adding an LTPC key would make full (1600) exceed the combined limit of 1500
    change = book.subscribe(["NSE_EQ|X"], FeedMode.LTPC)
    assert [r.instrument_key for r in change.refused] == ["NSE_EQ|X"]
    assert "combined" in change.refused[0].reason
    assert book.mode_of("NSE_EQ|X") is None


def test_keys_spread_over_connections_least_loaded() -> None:
    book = SubscriptionBook(FeedLimits(), connections=2)
    change = book.subscribe(_keys(5), FeedMode.LTPC)
    assert {s: len(m[FeedMode.LTPC]) for s, m in change.subscribe.items()} == {0: 3, 1: 2}
    assert book.on_socket(1) == {FeedMode.LTPC: ["NSE_EQ|K1", "NSE_EQ|K3"]}


def test_resubscribe_in_another_mode_is_a_change_mode() -> None:
    book = SubscriptionBook()
    book.subscribe(["A|1"], FeedMode.LTPC)
    change = book.subscribe(["A|1"], FeedMode.FULL)
    assert change.subscribe == {}
    assert change.change_mode == {0: {FeedMode.FULL: ["A|1"]}}
    assert book.subscribe(["A|1"], FeedMode.FULL).empty


def test_change_mode_of_unknown_key_is_refused_and_unsubscribe_frees_capacity() -> None:
    book = SubscriptionBook(FeedLimits(), connections=1)
    change = book.change_mode(["A|1"], FeedMode.FULL)
    assert change.refused[0].reason.startswith("not subscribed")
    book.subscribe(_keys(2000), FeedMode.FULL)
    assert book.subscribe(["Z|1"], FeedMode.FULL).refused
    gone = book.unsubscribe(["NSE_EQ|K0", "never|seen"])
    assert gone.unsubscribe == {0: ["NSE_EQ|K0"]}
    assert not book.subscribe(["Z|1"], FeedMode.FULL).refused


def test_full_d30_needs_plus_and_connections_are_capped() -> None:
    assert SubscriptionBook().subscribe(["A|1"], FeedMode.FULL_D30).refused
    plus = SubscriptionBook(FeedLimits.plus(), connections=5)
    assert not plus.subscribe(["A|1"], FeedMode.FULL_D30).refused
    with pytest.raises(ValueError, match=r"allows 1\.\.2"):
        SubscriptionBook(FeedLimits(), connections=3)
