"""A full-mode day that starts at cumulative volume 0 (pre-open) counts its first trade.

Regression tests for the engine taking the last NON-ZERO cumulative volume as the trade
baseline: with a first tick of volume 0 the day's first trade was treated as the baseline
and dropped from VWAP, buy/sell volume and the first candle. Whether a tick carries
cumulative volume is a property of its feed mode (LTPC has none), not of the value.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from analytics_tickgen import BASE_NS, NS

from quant.analytics.columns import TickColumns, from_ticks, volume_mask
from quant.analytics.engine import FeatureEngine
from quant.analytics.features import seg_trade_quantity, volume_deltas
from quant.analytics.segments import seg_last_where, seg_last_where_before
from quant.core.clock import FakeClock
from quant.core.events import AggressorSide, Candle, DepthLevel, EnrichedTick, FeedMode, Tick

KEY = "NSE_EQ|INE000Z01"
OTHER = "NSE_EQ|INE000Z02"
# A minute boundary in IST (IST is UTC+5:30, so UTC minute boundaries are IST ones too).
T0 = BASE_NS // (60 * NS) * (60 * NS) + 60 * NS


def _full(
    key: str, ts: int, ltp: int, volume: int, *, ltq: int = 0, mode: FeedMode = FeedMode.FULL
) -> Tick:
    book = (DepthLevel(ltp - 5, 100, ltp + 5, 100),)
    return Tick(key, mode, ts, ts, ltp, ts if volume else 0, ltq, 0, volume, depth=book)


def _ltpc(key: str, ts: int, ltp: int, ltt: int, ltq: int) -> Tick:
    return Tick(key, FeedMode.LTPC, ts, ts, ltp, ltt, ltq)


def _pre_open_day(mode: FeedMode = FeedMode.FULL) -> list[Tick]:
    """Subscribed in pre-open (volume 0), then trades of 10 up, 20 up, 30 down."""
    return [
        _full(KEY, T0, 1_000, 0, mode=mode),
        _full(KEY, T0 + 1 * NS, 1_010, 10, ltq=10, mode=mode),
        _full(KEY, T0 + 2 * NS, 1_020, 30, ltq=20, mode=mode),
        _full(KEY, T0 + 3 * NS, 1_000, 60, ltq=30, mode=mode),
        _full(KEY, T0 + 61 * NS, 1_000, 60, mode=mode),  # next minute: closes the first
    ]


def _run(ticks: list[Tick], batch: int, restart_every: int = 0) -> tuple[
    list[EnrichedTick], list[Candle]
]:  # fmt: skip
    engine = FeatureEngine(FakeClock(5))
    out: list[EnrichedTick] = []
    candles: list[Candle] = []
    for i, start in enumerate(range(0, len(ticks), batch)):
        enriched, closed = engine.process(ticks[start : start + batch])
        out += enriched
        candles += closed
        if restart_every and (i + 1) % restart_every == 0:
            snapshot = json.loads(json.dumps(engine.snapshot()))
            engine = FeatureEngine(FakeClock(5))
            engine.restore(snapshot)
    return out, candles + engine.flush()


def _key(e: EnrichedTick) -> tuple[object, ...]:
    """An EnrichedTick with NaNs made comparable."""
    return tuple("nan" if isinstance(x, float) and math.isnan(x) else x for x in e)


@pytest.mark.parametrize("mode", [FeedMode.FULL, FeedMode.FULL_D30, FeedMode.OPTION_GREEKS])
def test_first_trade_after_a_zero_volume_tick_counts(mode: FeedMode) -> None:
    out, candles = _run(_pre_open_day(mode), 100)
    assert [e.trade_quantity for e in out] == [0, 10, 20, 30, 0]
    vwap = (1_010 * 10 + 1_020 * 20 + 1_000 * 30) / 60
    assert out[3].session_vwap == pytest.approx(vwap, rel=1e-15)
    assert out[1].session_vwap == 1_010.0  # the first trade alone
    assert math.isnan(out[0].session_vwap)
    assert [e.aggressor for e in out[1:4]] == [
        AggressorSide.BUY,
        AggressorSide.BUY,
        AggressorSide.SELL,
    ]
    assert (out[3].buy_volume, out[3].sell_volume) == (30, 30)
    first = next(c for c in candles if c.ts_start == T0)
    assert (first.volume, first.trade_count) == (60, 3)
    assert (first.open, first.high, first.low, first.close) == (1_000, 1_020, 1_000, 1_000)


@pytest.mark.parametrize("batch", [1, 2, 3, 1_000])
def test_zero_baseline_is_independent_of_batching(batch: int) -> None:
    whole = _run(_pre_open_day(), 1_000)
    assert _run(_pre_open_day(), batch)[0][1].trade_quantity == 10
    out, candles = _run(_pre_open_day(), batch)
    assert [_key(e) for e in out] == [_key(e) for e in whole[0]]
    assert sorted(candles) == sorted(whole[1])


def test_zero_baseline_survives_snapshot_restore_mid_stream() -> None:
    """Restart right after the volume-0 tick: the restored engine still counts the trade."""
    ticks = _pre_open_day()
    uninterrupted, candles = _run(ticks, 1_000)
    for restart_every in (1, 2):
        restarted, candles2 = _run(ticks, 1, restart_every=restart_every)
        assert [_key(e) for e in restarted] == [_key(e) for e in uninterrupted]
        assert sorted(candles2) == sorted(candles)
    engine = FeatureEngine(FakeClock())
    engine.process(ticks[:1])
    snapshot = json.loads(json.dumps(engine.snapshot()))
    assert snapshot["fields"]["last_volume"] == [0]  # a real zero baseline, not -1
    restored = FeatureEngine(FakeClock())
    restored.restore(snapshot)
    assert restored.process(ticks[1:2])[0][0].trade_quantity == 10


def test_joining_mid_day_still_only_sets_the_baseline() -> None:
    ticks = [
        _full(KEY, T0, 1_000, 5_000),
        _full(KEY, T0 + NS, 1_005, 5_040),
        _full(KEY, T0 + 2 * NS, 1_005, 0),  # a drop to 0 is a counter reset
        _full(KEY, T0 + 3 * NS, 1_010, 25),
    ]
    out, _ = _run(ticks, 1)
    assert [e.trade_quantity for e in out] == [0, 40, 0, 25]


def test_ltpc_stream_is_unaffected() -> None:
    """LTPC ticks have no cumulative volume: they count ``ltq`` when ``ltt`` moves on."""
    ticks = [
        _ltpc(KEY, T0, 1_000, T0 - NS, 7),  # first: baseline only
        _ltpc(KEY, T0 + NS, 1_010, T0 + NS, 5),
        _ltpc(KEY, T0 + 2 * NS, 1_010, T0 + NS, 5),  # same trade repeated
        _ltpc(KEY, T0 + 3 * NS, 1_020, T0 + 3 * NS, 8),
    ]
    for batch in (1, 10):
        out, candles = _run(ticks, batch)
        assert [e.trade_quantity for e in out] == [0, 5, 0, 8]
        assert out[-1].session_vwap == pytest.approx((1_010 * 5 + 1_020 * 8) / 13, rel=1e-15)
        assert sum(c.volume for c in candles) == 13


def test_ltpc_ticks_between_full_ticks_do_not_move_the_volume_baseline() -> None:
    ticks = [
        _full(KEY, T0, 1_000, 0),
        _ltpc(KEY, T0 + NS, 1_010, T0 + NS, 10),  # counted by ltq (ltt had no prior trade)
        _full(KEY, T0 + 2 * NS, 1_010, 10, ltq=10),
        _full(OTHER, T0 + 2 * NS, 2_000, 0),
        _full(KEY, T0 + 3 * NS, 1_020, 25, ltq=15),
        _full(OTHER, T0 + 3 * NS, 2_000, 4, ltq=4),
    ]
    for batch in (1, 2, 10):
        out, _ = _run(ticks, batch)
        assert [e.trade_quantity for e in out] == [0, 0, 10, 0, 15, 4]


def test_seg_trade_quantity_uses_the_mask_not_the_value() -> None:
    volume = np.array([0, 10, 0, 0, 20], dtype=np.int64)
    ltt = np.array([0, 1, 2, 3, 4], dtype=np.int64)
    ltq = np.array([0, 9, 9, 9, 9], dtype=np.int64)
    has_volume = np.array([True, True, False, False, True])
    starts = np.array([True, False, False, False, False])
    carry = (np.full(1, -1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    qty = seg_trade_quantity(volume, ltt, ltq, has_volume, starts, carry)
    assert qty.tolist() == [0, 10, 9, 9, 10]
    carried_zero = (np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    # The same ticks in a later batch, with the zero baseline carried in.
    later = seg_trade_quantity(
        volume[1:], ltt[1:], ltq[1:], has_volume[1:], starts[:4], carried_zero
    )
    assert later.tolist() == [10, 9, 9, 10]


def test_volume_deltas_counts_from_a_leading_zero() -> None:
    assert volume_deltas([0, 10, 30, 30, 5]).tolist() == [0, 10, 20, 0, 5]


def test_seg_last_where_keeps_marked_zeros() -> None:
    values = np.array([0, 7, 0, 3, 9, 0], dtype=np.int64)
    mask = np.array([True, False, True, False, False, True])
    starts = np.array([True, False, False, True, False, False])
    carry = np.array([-1, 42], dtype=np.int64)
    assert seg_last_where(values, mask, starts, carry).tolist() == [0, 0, 0, 42, 42, 0]
    assert seg_last_where_before(values, mask, starts, carry).tolist() == [-1, 0, 0, 42, 42, 42]


def test_columns_mark_volume_by_feed_mode() -> None:
    ticks = [
        _full(KEY, T0, 1_000, 0),
        _ltpc(KEY, T0, 1_000, T0, 3),
        _full(KEY, T0, 1_000, 0, mode=FeedMode.FULL_D30),
        _full(KEY, T0, 1_000, 0, mode=FeedMode.OPTION_GREEKS),
    ]
    columns = from_ticks(ticks)
    assert volume_mask(columns).tolist() == [True, False, True, True]
    assert volume_mask(from_ticks([])).tolist() == []
    legacy = TickColumns(*columns[:12])  # a builder that predates ``has_volume``
    assert legacy.has_volume is None
    assert volume_mask(legacy).tolist() == [False, False, False, False]
