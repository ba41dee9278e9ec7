"""The ``scanner_suggestions`` table on both tick stores: picks written as a batch read back
unchanged (reasons, signals in order, NaN signals), a replayed cycle upserts, the latest
cycle is every row with the newest ``ts`` by rank, and a time range returns cycles in order;
and the scanner's bulk history read (``candle_batch``: many instruments, one interval).

The SQLite case runs everywhere; the QuestDB case (``integration``) on the session's real
server, whose tables every test shares: each test's cycles start after anything stored.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import require
from quant.core.events import FeedMode, ScannerSuggestion
from quant.store.columns import suggestion_batch
from quant.store.sqlite_ticks import SqliteTickStore

T0 = 1_795_500_000_000_000_000  # 2026-11-23, UTC ns
CYCLE = 300_000_000_000
SIGNALS = ("orb", "high_dist", "rel_volume", "rel_strength", "gap", "vwap_dist", "roc")


@pytest.fixture(params=["sqlite", pytest.param("questdb", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "sqlite":
        s = SqliteTickStore(":memory:").open()
        yield s
        s.close()
        return
    try:
        server = request.getfixturevalue("questdb")
    except pytest.FixtureLookupError:
        require(False, "the questdb fixture is not available")
    from quant.store.questdb_ticks import QuestDBTickStore

    q = QuestDBTickStore(ilp_conf=server.ilp_conf, pg_dsn=server.pg_dsn).open()
    try:
        yield q
    finally:
        q.close()


def _start(store: Any) -> int:
    """A cycle time after every pick already stored (QuestDB's tables are shared)."""
    newest = store.latest_suggestions(1)
    return max(T0, newest[0].ts_event + CYCLE) if newest else T0


def _cycle(ts: int, n: int, tag: str = "") -> list[ScannerSuggestion]:
    run = uuid.uuid4().hex[:8]
    return [
        ScannerSuggestion(
            instrument_key=f"NSE_EQ|S{run}{i:03d}",
            trading_symbol=f"SYM{i}{tag}",
            ts_event=ts,
            rank=i + 1,
            score=3.5 - i * 0.25,
            reasons=(f"0.{i}% below the 20-day high", "relative volume 3.1× for 10:25"),
            last_price=245_050 + i,
            feed_mode=FeedMode.FULL if i % 2 == 0 else FeedMode.LTPC,
            signals=(
                *((name, 0.5 * k - i) for k, name in enumerate(SIGNALS)),
                ("contraction", math.nan),
            ),
        )
        for i in range(n)
    ]


def _same(a: ScannerSuggestion, b: ScannerSuggestion) -> bool:
    """Equal, with NaN signal values equal to NaN."""

    def norm(s: ScannerSuggestion) -> ScannerSuggestion:
        return s._replace(signals=tuple((k, "nan" if math.isnan(v) else v) for k, v in s.signals))

    return norm(a) == norm(b)


def test_a_cycle_reads_back_unchanged_as_the_latest(store: Any) -> None:
    ts = _start(store)
    picks = _cycle(ts, 5)
    store.write(suggestion_batch(list(reversed(picks))))  # row order does not matter
    store.wait_visible()
    got = store.latest_suggestions(20)
    assert [g.rank for g in got] == [1, 2, 3, 4, 5]
    assert all(_same(g, p) for g, p in zip(got, picks, strict=True)), got
    assert [name for name, _ in got[0].signals] == [*SIGNALS, "contraction"]
    assert store.latest_suggestions(2) == got[:2]


def test_the_latest_is_the_newest_cycle_and_a_replay_upserts(store: Any) -> None:
    ts = _start(store)
    first, second = _cycle(ts, 4), _cycle(ts + CYCLE, 3)
    store.write(suggestion_batch(second))
    store.write(suggestion_batch(first))  # an older cycle written later is not the latest
    store.write(suggestion_batch([p._replace(score=9.0) for p in second]))  # the replay
    store.wait_visible()
    latest = store.latest_suggestions()
    assert [p.instrument_key for p in latest] == [p.instrument_key for p in second]
    assert {p.score for p in latest} == {9.0}
    between = store.suggestions_between(ts, ts + 2 * CYCLE)
    assert [(p.ts_event, p.rank) for p in between] == [(ts, r) for r in range(1, 5)] + [
        (ts + CYCLE, r) for r in range(1, 4)
    ]
    assert [p.ts_event for p in store.suggestions_between(ts + 1, ts + CYCLE)] == []
    assert len(store.suggestions_between(ts, ts + CYCLE)) == 4


def test_a_pick_without_reasons_or_signals_round_trips(store: Any) -> None:
    ts = _start(store)
    bare = ScannerSuggestion("NSE_EQ|BARE" + uuid.uuid4().hex[:6], "BARE", ts, 1, 0.0, (), 100)
    store.write(suggestion_batch([bare]))
    store.wait_visible()
    assert store.latest_suggestions() == [bare]


def test_an_empty_table_has_no_latest_cycle() -> None:
    s = SqliteTickStore(":memory:").open()
    try:
        assert s.latest_suggestions() == []
        assert s.suggestions_between(0, 2**62) == []
    finally:
        s.close()


def test_candle_batch_reads_many_instruments_at_once(store: Any) -> None:
    from quant.core.events import Candle
    from quant.store.columns import candle_batch

    run = uuid.uuid4().hex[:8]
    keys = [f"NSE_EQ|C{run}{i}" for i in range(3)]
    minute = 60_000_000_000
    rows = [
        Candle(k, 60, T0 + m * minute, 100 + i, 110 + i, 90 + i, 105 + i, 10 * m)
        for i, k in enumerate(keys)
        for m in range(5)
    ]
    rows.append(Candle(keys[0], 86_400, T0, 1, 2, 1, 2, 3))  # another interval: not read
    store.write(candle_batch(rows))
    store.wait_visible()
    got = store.candle_batch([keys[2], keys[0], "NSE_EQ|NONE"], T0 + minute, T0 + 4 * minute)
    assert sorted(zip(got.instrument_key, got.ts.tolist(), strict=True)) == sorted(
        (k, T0 + m * minute) for k in (keys[0], keys[2]) for m in (1, 2, 3)
    )
    assert set(got.interval_seconds.tolist()) == {60}
    by_row = {
        (k, t): (c, v)
        for k, t, c, v in zip(
            got.instrument_key,
            got.ts.tolist(),
            got.close.tolist(),
            got.volume.tolist(),
            strict=True,
        )
    }
    assert by_row[(keys[2], T0 + 2 * minute)] == (107, 20)
    empty = store.candle_batch([keys[1]], T0 + 10 * minute, T0 + 20 * minute)
    assert len(empty) == 0
