"""The batched feature engine against a per-tick reference, across batches and restarts."""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from analytics_tickgen import BASE_NS, NS, random_ticks
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.analytics.black76 import black76_greeks, black76_price, implied_vol
from quant.analytics.candles import IST_OFFSET_NS
from quant.analytics.engine import FeatureEngine, FeatureEngineConfig, OptionSpec
from quant.analytics.engine_state import SnapshotError
from quant.analytics.expiry import OptionPricingConfig, time_to_expiry
from quant.core.clock import FakeClock
from quant.core.events import AggressorSide, Candle, DepthLevel, EnrichedTick, FeedMode, Tick

DAY_NS = 86_400 * NS


@dataclass
class _Ref:
    day: int = -1
    last_volume: int = -1
    last_ltt: int = 0
    pv: int = 0
    qty: int = 0
    buy: int = 0
    sell: int = 0
    mid2: int = 0
    trade_price: int = 0
    direction: int = 0
    last_ts: int = 0
    trades: deque[tuple[int, int, int]] = field(default_factory=deque)
    candle: list[int] | None = None


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def reference(ticks: list[Tick], window_s: int = 300, intensity_s: int = 60) -> tuple[
    list[tuple[object, ...]], list[Candle]
]:  # fmt: skip
    """A deliberately simple per-tick implementation of the documented definitions."""
    states: dict[str, _Ref] = {}
    rows: list[tuple[object, ...]] = []
    candles: list[Candle] = []
    for t in ticks:
        s = states.setdefault(t.instrument_key, _Ref())
        ts = max(t.ts_event, s.last_ts)
        s.last_ts = ts
        day = (ts + IST_OFFSET_NS) // DAY_NS
        if day != s.day:
            s.day, s.last_volume, s.last_ltt, s.pv, s.qty = day, -1, 0, 0, 0
            s.buy, s.sell, s.mid2, s.trade_price, s.direction = 0, 0, 0, 0, 0
        if t.mode != FeedMode.LTPC:  # carries cumulative volume, even when it is 0
            prev = s.last_volume
            qty = 0 if prev < 0 else (t.volume - prev if t.volume >= prev else t.volume)
            s.last_volume = t.volume
        else:
            qty = t.ltq if (t.ltt_ns > s.last_ltt > 0) else 0
        if t.ltt_ns:
            s.last_ltt = t.ltt_ns
        side = AggressorSide.NONE
        if qty > 0:
            if s.trade_price > 0 and t.ltp != s.trade_price:
                s.direction = _sign(t.ltp - s.trade_price)
            quote = _sign(2 * t.ltp - s.mid2) if s.mid2 > 0 else 0
            decided = quote or s.direction
            side = {1: AggressorSide.BUY, -1: AggressorSide.SELL}.get(decided, side)
            s.trade_price = t.ltp
            s.trades.append((ts, t.ltp * qty, qty))
        if t.depth and t.depth[0].bid_price > 0 and t.depth[0].ask_price > 0:
            s.mid2 = t.depth[0].bid_price + t.depth[0].ask_price
        s.pv += t.ltp * qty
        s.qty += qty
        s.buy += qty if side == AggressorSide.BUY else 0
        s.sell += qty if side == AggressorSide.SELL else 0
        while s.trades and s.trades[0][0] <= ts - max(window_s, intensity_s) * NS:
            s.trades.popleft()
        in_window = [x for x in s.trades if x[0] > ts - window_s * NS]
        rpv, rq = sum(x[1] for x in in_window), sum(x[2] for x in in_window)
        count = sum(1 for x in s.trades if x[0] > ts - intensity_s * NS)
        rows.append((
            s.pv / s.qty if s.qty else math.nan,
            rpv / rq if rq else math.nan,
            side, qty, s.buy, s.sell, count / intensity_s,
        ))  # fmt: skip
        if t.ltp > 0:
            start = (ts + IST_OFFSET_NS) // (60 * NS) * (60 * NS) - IST_OFFSET_NS
            c = s.candle
            if c is not None and c[0] != start:
                candles.append(Candle(t.instrument_key, 60, *c))
                c = None
            if c is None:
                s.candle = [start, t.ltp, t.ltp, t.ltp, t.ltp, qty, t.oi, int(qty > 0)]
            else:
                c[2], c[3], c[4] = max(c[2], t.ltp), min(c[3], t.ltp), t.ltp
                c[5], c[6], c[7] = c[5] + qty, t.oi, c[7] + int(qty > 0)
    for key, s in states.items():
        if s.candle is not None:
            candles.append(Candle(key, 60, *s.candle))
    return rows, candles


def _row(e: EnrichedTick) -> tuple[object, ...]:
    return (
        e.session_vwap,
        e.rolling_vwap,
        e.aggressor,
        e.trade_quantity,
        e.buy_volume,
        e.sell_volume,
        e.trade_intensity,
    )


def _same(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float):
            if not (x == pytest.approx(y, rel=1e-14) or (math.isnan(x) and math.isnan(y))):
                return False
        elif x != y:
            return False
    return True


def _run_in_batches(ticks: list[Tick], size: int, restart_every: int = 0) -> tuple[
    list[EnrichedTick], list[Candle]
]:  # fmt: skip
    engine = FeatureEngine(FakeClock(5))
    out: list[EnrichedTick] = []
    candles: list[Candle] = []
    for i, start in enumerate(range(0, len(ticks), size)):
        enriched, closed = engine.process(ticks[start : start + size])
        out += enriched
        candles += closed
        if restart_every and i % restart_every == 0:
            snapshot = json.loads(json.dumps(engine.snapshot()))
            engine = FeatureEngine(FakeClock(5))
            engine.restore(snapshot)
    return out, candles + engine.flush()


@pytest.mark.parametrize(("batch", "resets"), [(10_000, False), (97, True), (1, False)])
def test_engine_matches_the_per_tick_reference(batch: int, resets: bool) -> None:
    ticks = random_ticks(3_000 if batch == 1 else 10_000, 6, seed=batch, resets=resets)
    ref_rows, ref_candles = reference(ticks)
    out, candles = _run_in_batches(ticks, batch)
    assert len(out) == len(ticks)
    mismatches = [
        i for i, (e, r) in enumerate(zip(out, ref_rows, strict=True)) if not _same(_row(e), r)
    ]
    assert mismatches == []
    assert sorted(candles) == sorted(ref_candles)
    assert [e.instrument_key for e in out] == [t.instrument_key for t in ticks]


def test_snapshot_restore_resumes_with_identical_features() -> None:
    ticks = random_ticks(8_000, 4, seed=11, resets=True)
    uninterrupted, candles = _run_in_batches(ticks, 8_000)
    restarted, candles2 = _run_in_batches(ticks, 250, restart_every=3)
    assert all(_same(tuple(a), tuple(b)) for a, b in zip(uninterrupted, restarted, strict=True))
    assert sorted(candles) == sorted(candles2)
    assert len(candles) > 10


def test_restore_rejects_unknown_snapshot_version() -> None:
    engine = FeatureEngine(FakeClock())
    snapshot = engine.snapshot()
    snapshot["version"] = 99
    with pytest.raises(SnapshotError):
        engine.restore(snapshot)


def _tick(key: str, ts: int, ltp: int, volume: int = 0, depth: tuple[DepthLevel, ...] = ()) -> Tick:
    return Tick(key, FeedMode.FULL, ts, ts, ltp, ts, 1, 0, volume, depth=depth)


def test_new_ist_day_resets_the_session_but_not_the_candle_stream() -> None:
    engine = FeatureEngine(FakeClock())
    key = "NSE_EQ|A"
    day1 = BASE_NS
    day2 = BASE_NS + DAY_NS
    out, _ = engine.process([_tick(key, day1, 100, 10), _tick(key, day1 + NS, 200, 20)])
    assert out[1].session_vwap == 200.0
    out, closed = engine.process([_tick(key, day2, 300, 5), _tick(key, day2 + NS, 400, 15)])
    assert out[0].trade_quantity == 0  # first tick of the day is only the baseline
    assert out[1].session_vwap == 400.0 and out[1].trade_quantity == 10
    assert [c.close for c in closed] == [200]


def test_ts_enriched_comes_from_the_injected_clock_and_candles_flush() -> None:
    clock = FakeClock(123)
    engine = FeatureEngine(clock)
    out, closed = engine.process([_tick("NSE_EQ|A", BASE_NS, 100, 10)])
    assert out[0].ts_enriched == 123 and closed == []
    assert engine.close_candles_before(BASE_NS) == []
    late = engine.close_candles_before(BASE_NS + 120 * NS)
    assert [c.open for c in late] == [100]
    assert engine.flush() == []
    assert engine.process([]) == ([], [])


def test_book_features_in_enriched_ticks() -> None:
    depth = (DepthLevel(9_990, 300, 10_010, 100), DepthLevel(9_980, 100, 10_020, 300))
    out, _ = FeatureEngine(FakeClock()).process([_tick("NSE_EQ|A", BASE_NS, 10_000, 5, depth)])
    e = out[0]
    assert e.spread == 20
    assert e.spread_bps == pytest.approx(20.0)
    assert e.imbalance_l1 == pytest.approx(0.5)
    assert e.imbalance_d5 == pytest.approx((300 + 50 - 100 - 150) / (300 + 50 + 100 + 150))
    assert e.microprice == pytest.approx((9_990 * 100 + 10_010 * 300) / 400)
    assert math.isnan(e.iv)


@pytest.mark.parametrize("underlying_is_forward", [True, False])
def test_option_ticks_get_black76_iv_and_greeks(underlying_is_forward: bool) -> None:
    rate = 0.07
    expiry = date(2026, 11, 26)
    spec_c = OptionSpec("NSE_FO|FUT", 2_400_000, expiry, True, underlying_is_forward)
    spec_p = OptionSpec("NSE_FO|FUT", 2_400_000, expiry, False, underlying_is_forward)
    config = FeatureEngineConfig(pricing=OptionPricingConfig(rate=rate))
    engine = FeatureEngine(FakeClock(), config, {"NSE_FO|CE": spec_c})
    engine.register_option("NSE_FO|PE", spec_p)
    underlying = 2_410_000  # paise
    t = time_to_expiry(BASE_NS + NS, expiry)
    fwd = underlying / 100 if underlying_is_forward else underlying / 100 * math.exp(rate * t)
    call = round(black76_price(fwd, 24_000.0, t, 0.15, rate, True) * 100)
    put = round(black76_price(fwd, 24_000.0, t, 0.15, rate, False) * 100)
    ticks = [
        _tick("NSE_FO|CE", BASE_NS, call),  # no underlying price yet: NaN
        _tick("NSE_FO|FUT", BASE_NS, underlying),
        _tick("NSE_FO|CE", BASE_NS + NS, call),
        _tick("NSE_FO|PE", BASE_NS + NS, put),
    ]
    out, _ = engine.process(ticks)
    assert math.isnan(out[0].iv) and math.isnan(out[1].iv)
    for e, is_call, price in ((out[2], True, call), (out[3], False, put)):
        iv = implied_vol(price / 100, fwd, 24_000.0, t, rate, is_call)
        assert e.iv == pytest.approx(iv, abs=1e-10)
        assert e.iv == pytest.approx(0.15, abs=2e-3)  # premium rounded to a paisa
        g = black76_greeks(fwd, 24_000.0, t, iv, rate, is_call)
        assert e.delta == pytest.approx(g.delta, rel=1e-9)
        assert e.gamma == pytest.approx(g.gamma, rel=1e-9)
        assert e.theta == pytest.approx(g.theta, rel=1e-9)
        assert e.vega == pytest.approx(g.vega, rel=1e-9)
    # The next batch prices off the underlying price carried in state.
    out, _ = engine.process([_tick("NSE_FO|CE", BASE_NS + NS, call)])
    assert out[0].iv == pytest.approx(out[0].iv) and not math.isnan(out[0].iv)


@pytest.mark.parametrize(
    "bad",
    [{"rolling_window_s": 0}, {"intensity_window_s": -1}, {"candle_interval_s": 0}],
)
def test_config_rejects_non_positive_windows(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="positive"):
        FeatureEngineConfig(**bad)


def test_windows_stay_exact_when_timestamps_span_decades() -> None:
    # Old history plus new ticks are too far apart to pack into one int64 search key.
    old = random_ticks(600, 4, seed=5, start_ns=10**15)
    new = random_ticks(600, 4, seed=6, start_ns=BASE_NS)
    ticks = old + new
    ref_rows, _ = reference(ticks)
    out, _ = _run_in_batches(ticks, 150)
    assert all(_same(_row(e), r) for e, r in zip(out, ref_rows, strict=True))


_tick_strategy = st.tuples(
    st.sampled_from(["NSE_EQ|A", "NSE_EQ|B", "NSE_FO|C"]),
    st.integers(-30 * NS, 90 * NS),  # time step; negative = out-of-order tick
    st.integers(0, 3),  # price move
    st.integers(0, 400),  # volume added
    st.booleans(),  # has a book
    st.sampled_from(["full", "ltpc", "reset", "new_day"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_tick_strategy, min_size=1, max_size=60), st.integers(1, 25))
def test_engine_matches_reference_on_arbitrary_streams(
    rows: list[tuple[str, int, int, int, bool, str]], batch: int
) -> None:
    ts, ticks = BASE_NS, []
    price: dict[str, int] = {}
    volume: dict[str, int] = {}
    for key, step, move, added, book, kind in rows:
        ts += step + (DAY_NS if kind == "new_day" else 0)
        price[key] = price.get(key, 10_000) + 5 * (move - 1)
        volume[key] = added if kind in {"reset", "new_day"} else volume.get(key, 0) + added
        p = price[key]
        depth = (DepthLevel(p - 5, added + 1, p + 5, move + 1),) if book else ()
        if kind == "ltpc":
            ticks.append(Tick(key, FeedMode.LTPC, ts, ts, p, ts, added))
        else:
            ticks.append(Tick(key, FeedMode.FULL, ts, ts, p, ts, 1, 0, volume[key], depth=depth))
    ref_rows, ref_candles = reference(ticks)
    out, candles = _run_in_batches(ticks, batch, restart_every=2)
    assert [
        i for i, (e, r) in enumerate(zip(out, ref_rows, strict=True)) if not _same(_row(e), r)
    ] == []
    assert sorted(candles) == sorted(ref_candles)
