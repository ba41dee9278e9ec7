"""The one subscription book: Upstox's feed limits (UPSTOX.md §2.3), sockets and reverts.

The figures of §2.3 per mode, for a normal and an Upstox Plus account: individual limits
(one mode in use), combined limits (several modes), connections per user, and full_d30
only with Plus; then how keys are spread over sockets, moved, refused and reverted.
"""

from __future__ import annotations

import pytest

from quant.core.events import FeedMode
from quant.upstox.subscriptions import FeedLimits, SubscriptionBook

LTPC, GREEKS, FULL, D30 = FeedMode.LTPC, FeedMode.OPTION_GREEKS, FeedMode.FULL, FeedMode.FULL_D30
NORMAL, PLUS = FeedLimits(), FeedLimits.plus()


def keys(n: int, start: int = 0) -> list[str]:
    return [f"NSE_FO|{i}" for i in range(start, start + n)]


def filled(limits: FeedLimits, *subscriptions: tuple[FeedMode, int]) -> SubscriptionBook:
    book = SubscriptionBook(limits, connections=1)
    start = 0
    for mode, n in subscriptions:
        assert not book.subscribe(keys(n, start), mode).refused
        start += n
    return book


# --- the figures of UPSTOX.md §2.3 --------------------------------------------------------


@pytest.mark.parametrize("limits", [NORMAL, PLUS], ids=["normal", "plus"])
@pytest.mark.parametrize(("mode", "limit"), [(LTPC, 5000), (GREEKS, 3000), (FULL, 2000)])
def test_individual_limit_per_mode(limits: FeedLimits, mode: FeedMode, limit: int) -> None:
    book = filled(limits, (mode, limit))
    change = book.subscribe(["NSE_EQ|X"], mode)
    assert [r.instrument_key for r in change.refused] == ["NSE_EQ|X"]
    assert change.refused[0].kind == "limit"
    assert f"individual limit of {limit}" in change.refused[0].reason
    assert book.counts() == {mode: limit}
    assert change.empty


@pytest.mark.parametrize("limits", [NORMAL, PLUS], ids=["normal", "plus"])
@pytest.mark.parametrize(
    ("mode", "limit", "other"), [(LTPC, 2000, FULL), (GREEKS, 2000, LTPC), (FULL, 1500, GREEKS)]
)
def test_combined_limit_per_mode(
    limits: FeedLimits, mode: FeedMode, limit: int, other: FeedMode
) -> None:
    book = filled(limits, (other, 1), (mode, limit))
    change = book.subscribe(["NSE_EQ|X"], mode)
    assert f"combined limit of {limit}" in change.refused[0].reason
    assert book.counts() == {other: 1, mode: limit}


def test_a_second_mode_is_refused_while_the_first_is_over_its_combined_limit() -> None:
    book = filled(NORMAL, (FULL, 1600))  # within the individual 2000, over the combined 1500
    change = book.subscribe(["NSE_EQ|X"], LTPC)
    assert [r.instrument_key for r in change.refused] == ["NSE_EQ|X"]
    assert "full limit reached" in change.refused[0].reason
    assert "combined" in change.refused[0].reason
    assert book.mode_of("NSE_EQ|X") is None


def test_full_d30_needs_plus_and_plus_allows_50() -> None:
    refused = SubscriptionBook(NORMAL).subscribe(["NSE_EQ|A1"], D30).refused
    assert "Upstox Plus" in refused[0].reason
    plus = filled(PLUS, (D30, 50))
    assert "individual limit of 50" in plus.subscribe(["NSE_EQ|X"], D30).refused[0].reason


def test_full_d30_beside_other_modes_stays_within_its_individual_50() -> None:
    # §2.3 gives full_d30 a combined figure (1500) above its individual one (50): adding
    # another mode must not make room for more full_d30 keys than it alone allows
    assert PLUS.combined[D30] == 1500
    assert PLUS.limit(D30, combined=True) == 50
    book = filled(PLUS, (LTPC, 1), (D30, 50))
    assert "combined limit of 50" in book.subscribe(["NSE_EQ|X"], D30).refused[0].reason


def test_connections_per_user() -> None:
    assert (NORMAL.connections, PLUS.connections) == (2, 5)
    SubscriptionBook(PLUS, connections=5)
    with pytest.raises(ValueError, match=r"allows 1\.\.2"):
        SubscriptionBook(NORMAL, connections=3)
    with pytest.raises(ValueError, match=r"allows 1\.\.5"):
        SubscriptionBook(PLUS, connections=6)


def test_unlimited_checks_nothing() -> None:
    book = SubscriptionBook(FeedLimits.unlimited())
    assert not book.subscribe(keys(6000), LTPC).refused
    assert not book.subscribe(keys(60, 10_000), D30).refused
    assert len(book) == 6060


# --- sockets, moves, refusals and reverts ---------------------------------------------------


def test_keys_spread_over_connections_least_loaded() -> None:
    book = SubscriptionBook(NORMAL, connections=2)
    change = book.subscribe(keys(5), LTPC)
    assert {s: len(m[LTPC]) for s, m in change.subscribe.items()} == {0: 3, 1: 2}
    assert book.on_socket(1) == {LTPC: ["NSE_FO|1", "NSE_FO|3"]}
    book.unsubscribe(["NSE_FO|0", "NSE_FO|2", "NSE_FO|4"])
    assert book.subscribe(["NSE_FO|9"], LTPC).subscribe == {0: {LTPC: ["NSE_FO|9"]}}


def test_resubscribe_in_another_mode_is_a_change_mode() -> None:
    book = SubscriptionBook()
    book.subscribe(["NSE_EQ|A1", "NSE_EQ|B2"], LTPC)
    change = book.subscribe(["NSE_EQ|A1"], FULL)
    assert change.subscribe == {}
    assert change.change_mode == {0: {FULL: ["NSE_EQ|A1"]}}
    assert change.previous == {"NSE_EQ|A1": LTPC}
    assert book.subscribe(["NSE_EQ|A1"], FULL).empty
    assert book.by_mode() == {FULL: ["NSE_EQ|A1"], LTPC: ["NSE_EQ|B2"]}
    assert "NSE_EQ|B2" in book
    assert book.counts() == {FULL: 1, LTPC: 1}


def test_change_mode_of_unknown_key_is_refused_and_unsubscribe_frees_capacity() -> None:
    book = SubscriptionBook(NORMAL, connections=1)
    change = book.change_mode(["NSE_EQ|A1"], FULL)
    assert change.refused[0].reason.startswith("not subscribed")
    assert change.refused[0].kind == "not_subscribed"
    book.subscribe(keys(2000), FULL)
    assert book.subscribe(["NSE_EQ|Z1"], FULL).refused
    gone = book.unsubscribe(["NSE_FO|0", "NSE_EQ|NEVER"])
    assert gone.unsubscribe == {0: ["NSE_FO|0"]}
    assert not book.subscribe(["NSE_EQ|Z1"], FULL).refused


def test_malformed_keys_are_refused_not_raised() -> None:
    change = SubscriptionBook().subscribe(["RELIANCE", "NSE_EQ|A1"], LTPC)
    assert [(r.instrument_key, r.kind) for r in change.refused] == [("RELIANCE", "invalid_key")]
    assert "malformed instrument_key" in change.refused[0].reason
    assert change.subscribe == {0: {LTPC: ["NSE_EQ|A1"]}}


def test_revert_undoes_new_keys_and_mode_changes() -> None:
    book = SubscriptionBook(NORMAL, connections=2)
    book.subscribe(["NSE_EQ|A1"], LTPC)
    change = book.subscribe(["NSE_EQ|A1", "NSE_EQ|B2", "NSE_EQ|C3"], FULL)
    book.revert(change, ["NSE_EQ|A1", "NSE_EQ|B2"])
    assert book.mode_of("NSE_EQ|A1") is LTPC
    assert book.mode_of("NSE_EQ|B2") is None
    assert book.mode_of("NSE_EQ|C3") is FULL
    book.revert(change)
    assert book.by_mode() == {LTPC: ["NSE_EQ|A1"]}
    assert book.counts() == {LTPC: 1}
    assert book.subscribe(["NSE_EQ|D4"], LTPC).subscribe == {1: {LTPC: ["NSE_EQ|D4"]}}
