"""Synthetic candle history: determinism, invariants, aggregation, breakouts, correlation.

Checks the model (:mod:`quant.sim.history`) both directly and through the historical
candle routes, on one simulator state started 2026-11-24 09:20 IST, seed 7.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import numpy.typing as npt
import pytest

from quant.analytics.scanner_score import composite_score, top_n
from quant.analytics.scanner_signals import ScanInputs, compute_signals
from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.sim import cli as sim_cli
from quant.sim import history
from quant.sim.app import create_app
from quant.sim.config import SimConfig
from quant.sim.market import Market
from quant.sim.master import Kind, build_universe
from quant.sim.routes_history import synthetic
from quant.sim.state import SimState

F = npt.NDArray[np.float64]
START = datetime(2026, 11, 24, 9, 20, tzinfo=IST)
RELIANCE = "NSE_EQ|INE002A01018"
NIFTY = "NSE_INDEX|Nifty 50"


def _state(seed: int = 7, extra: int = 60) -> SimState:
    config = SimConfig(seed=seed, start=START, rate_limits=False, extra_equities=extra)
    return SimState(config, today=START)


def _clear_caches() -> None:
    history._stock_path.cache_clear()
    history.market_factor.cache_clear()
    history.market_minutes.cache_clear()


@pytest.fixture(scope="module")
def state() -> Iterator[SimState]:
    yield _state()


def _nse_names(state: SimState) -> list[int]:
    u = state.universe
    return [i for i, r in enumerate(u.rows) if r.get("instrument_type") == "EQ"]


_YEARS: dict[tuple[int, int], tuple[F, F, F, F, F]] = {}


def _year(state: SimState, row: int) -> tuple[F, F, F, F, F]:
    """250 days of daily OHLCV, oldest first, as floats (kept for the module's tests)."""
    key = (id(state), row)
    if key not in _YEARS:
        _YEARS[key] = _compute_year(state, row)
    return _YEARS[key]


def _compute_year(state: SimState, row: int) -> tuple[F, F, F, F, F]:
    hist = synthetic(state)
    days = list(hist.days[:250])[::-1]
    o, h, lo, c, v = hist.day_candles(row, days)
    return (
        o.astype(np.float64),
        h.astype(np.float64),
        lo.astype(np.float64),
        c.astype(np.float64),
        v.astype(np.float64),
    )


async def _get(state: SimState, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        resp = await client.get(path)
    assert resp.status_code == 200, resp.text[:300]
    return resp


def _path(key: str, unit: str, n: int, to: str, frm: str) -> str:
    return f"/v3/historical-candle/{quote(key, safe='')}/{unit}/{n}/{to}/{frm}"


# ---- determinism ----------------------------------------------------------------------
async def test_same_seed_same_candles_byte_for_byte() -> None:
    paths = [
        _path(RELIANCE, "minutes", 1, "2026-11-23", "2026-11-02"),
        _path(NIFTY, "days", 1, "2026-11-23", "2025-11-24"),
        _path("BSE_EQ|INE002A01018", "minutes", 30, "2026-11-23", "2026-11-16"),
    ]
    first = [(await _get(_state(), p)).content for p in paths]
    _clear_caches()
    second = [(await _get(_state(), p)).content for p in reversed(paths)][::-1]
    other = (await _get(_state(seed=8), paths[1])).content
    assert first == second
    assert other != first[1]


# ---- invariants ---------------------------------------------------------------------------
def test_candle_invariants_for_every_kind_of_row(state: SimState) -> None:
    u = state.universe
    kinds = {Kind.EQ, Kind.INDEX, Kind.FUT, Kind.CE}
    rows = [next(i for i in range(len(u)) if int(u.kind[i]) == k) for k in kinds]
    rows += [u.index_of["BSE_EQ|INE002A01018"], u.index_of["NSE_INDEX|India VIX"]]
    rows += _nse_names(state)[50:60]
    hist = synthetic(state)
    days = list(hist.days[:30])
    for row in rows:
        o, h, lo, c, v = hist.days_bars(row, days)
        tick = int(state.market.tick[row])
        for arr in (o, h, lo, c):
            assert (arr % tick == 0).all() and (arr >= tick).all()
        assert (h >= np.maximum(o, c)).all() and (lo <= np.minimum(o, c)).all()
        assert (v > 0).all()


def test_history_meets_the_session_at_the_previous_close(state: SimState) -> None:
    u, m = state.universe, state.market
    hist = synthetic(state)
    keys = [RELIANCE, "BSE_EQ|INE002A01018", NIFTY, "NSE_INDEX|Nifty Bank"]
    rows = [u.index_of[k] for k in keys] + [int(np.nonzero(m.is_fut)[0][0])]
    rows += [int(r) for r in sorted(hist.setups)[:3]]
    for row in rows:
        candle = hist.day_candles(row, [hist.days[0]])
        assert int(candle[3][0]) == int(m.close_prev[row])


# ---- aggregation --------------------------------------------------------------------------
async def test_minute_hour_day_week_month_candles_agree(state: SimState) -> None:
    key = state.universe.keys[_nse_names(state)[55]]
    to, frm = "2026-11-23", "2026-11-02"
    minutes = (await _get(state, _path(key, "minutes", 1, to, frm))).json()["data"]["candles"]
    thirty = (await _get(state, _path(key, "minutes", 30, to, frm))).json()["data"]["candles"]
    hours = (await _get(state, _path(key, "hours", 1, to, frm))).json()["data"]["candles"]
    days = (await _get(state, _path(key, "days", 1, to, frm))).json()["data"]["candles"]
    weeks = (await _get(state, _path(key, "weeks", 1, to, "2026-11-09"))).json()["data"]
    months = (await _get(state, _path(key, "months", 1, "2026-10-31", "2026-10-01"))).json()

    def roll(candles: list[list[Any]], key_len: int) -> dict[str, tuple[Any, ...]]:
        """Newest-first candles grouped by the first ``key_len`` characters of their time."""
        groups: dict[str, list[list[Any]]] = {}
        for c in reversed(candles):
            groups.setdefault(str(c[0])[:key_len], []).append(c)
        return {
            k: (g[0][1], max(x[2] for x in g), min(x[3] for x in g), g[-1][4], sum(x[5] for x in g))
            for k, g in groups.items()
        }

    by_day = roll(minutes, 10)
    assert {str(d[0])[:10]: tuple(d[1:6]) for d in days} == by_day
    assert roll(thirty, 10) == by_day and roll(hours, 10) == by_day
    assert len(thirty) == len(days) * 13 and len(hours) == len(days) * 7
    first_half_hour = [c for c in minutes if str(c[0])[:10] == "2026-11-02"][-30:]
    assert tuple(thirty[-1][1:6]) == roll(first_half_hour, 10)["2026-11-02"]
    week = [d for d in days if "2026-11-16" <= str(d[0])[:10] <= "2026-11-20"]
    assert tuple(weeks["candles"][1][1:6]) == roll(week, 4)["2026"]  # [0]: the 23rd's week
    october = (await _get(state, _path(key, "days", 1, "2026-10-31", "2026-10-01"))).json()
    assert (
        tuple(months["data"]["candles"][0][1:6]) == roll(october["data"]["candles"], 7)["2026-10"]
    )


# ---- the scanner's material ------------------------------------------------------------------
def _breakouts(h: F, c: F, v: F) -> list[int]:
    """Days closing above the previous 20 days' highs on 1.8x their median volume, the
    first such day in 10 (not the follow-through of an earlier one)."""
    out: list[int] = []
    for t in range(25, len(c)):
        new_high = c[t] > h[t - 20 : t].max() and v[t] > 1.8 * np.median(v[t - 20 : t])
        if new_high and (not out or t - out[-1] > 10):
            out.append(t)
    return out


def test_breakouts_follow_contraction_and_rising_volume(state: SimState) -> None:
    names = _nse_names(state)
    with_breakout = 0
    rising = contracted = total = 0
    for row in names:
        _, h, lo, c, v = _year(state, row)
        found = _breakouts(h, c, v)
        with_breakout += bool(found)
        for t in found:
            total += 1
            rising += v[t - 3 : t].mean() > v[t - 13 : t - 3].mean()
            short = (h[t - 5 : t] - lo[t - 5 : t]).mean()
            contracted += short < (h[t - 20 : t] - lo[t - 20 : t]).mean()
    assert with_breakout >= 0.6 * len(names)
    assert total >= 2 * len(names)  # a few a year per name
    assert rising >= 0.6 * total
    assert contracted >= 0.55 * total  # the other breakouts come out of trends


def test_past_breakout_days_break_out_intraday_on_a_burst_of_volume(state: SimState) -> None:
    hist = synthetic(state)
    days_checked = moved = loud = 0
    for row in _nse_names(state)[50:80]:
        path = hist.path(row)
        assert path.breakout is not None
        for k in np.nonzero(~np.isnan(path.breakout[:250]))[0][:2]:
            bars = hist.day_bars(row, hist.days[int(k)])
            assert bars is not None
            o, _, _, c, v = bars
            minute = int(path.breakout[k] * history.MINUTES)
            lo, hi = max(minute - 15, 0), minute + 15
            days_checked += 1
            moved += abs(int(c[hi]) - int(c[lo])) > 0.5 * abs(int(c[-1]) - int(o[0]))
            busiest = int(np.argmax(np.convolve(v, np.ones(10), mode="valid")))
            loud += lo - 10 <= busiest <= hi
    assert days_checked >= 30
    assert moved >= 0.8 * days_checked
    assert loud >= 0.7 * days_checked


def test_names_trend_and_move_with_the_index(state: SimState) -> None:
    u = state.universe
    names = _nse_names(state)
    nifty = _year(state, u.index_of[NIFTY])[3]
    index_ret = np.diff(np.log(nifty))
    corr, variance_ratio = [], []
    for row in names:
        c = _year(state, row)[3]
        r = np.diff(np.log(c))
        corr.append(np.corrcoef(r, index_ret)[0, 1])
        full = synthetic(state).path(row).close[::-1][-1000:]
        lr = np.diff(np.log(full))
        r20 = np.log(full[20:] / full[:-20])
        variance_ratio.append(r20.var() / (20 * lr.var()))
    assert np.median(corr) > 0.3
    assert np.mean(np.asarray(corr) > 0.1) > 0.9
    # drift regimes: 20-day moves wider than 20 independent days would give
    assert np.median(variance_ratio) > 1.15
    # the index is its members' basket: its daily return is their weighted return
    members, weights = u.index_members[u.index_of[NIFTY]]
    closes = np.stack([synthetic(state).path(int(m)).close for m in members])
    basket = (weights[:, None] * closes / closes[:, :1]).sum(axis=0)
    ratio = basket / synthetic(state).path(u.index_of[NIFTY]).close
    assert np.allclose(ratio, ratio[0], rtol=1e-9)


def test_setups_end_in_a_tight_base_and_break_out_live() -> None:
    day = date(2026, 11, 24)
    config = SimConfig(seed=7, extra_equities=100, fno_extra_underlyings=0)
    uni = build_universe(config, day)
    clock = FakeClock(datetime_to_ns(datetime.combine(day, time(9, 14), tzinfo=IST)))
    market = Market(uni, clock, 7, config.calendar)
    hist = history.SyntheticHistory(7, uni, market.close_prev, market.tick, day, config.calendar)
    setups = np.asarray(sorted(hist.setups), dtype=np.int64)
    assert len(setups) >= 3 and set(setups.tolist()) == set(market.bo_rows.tolist())
    eq = np.nonzero(market.is_proc & (uni.kind == Kind.EQ))[0]
    last20 = list(hist.days[:20])
    highs = np.asarray([hist.day_candles(int(r), last20)[1].max() for r in eq])
    vols = np.asarray([np.median(hist.day_candles(int(r), last20)[4]) for r in eq])
    tight = []
    for r in eq:
        c = hist.path(int(r)).close[:15]
        tight.append(np.log(c.max() / c.min()) / hist.path(int(r)).sigma)
    is_setup = np.isin(eq, setups)
    assert np.median(np.asarray(tight)[is_setup]) < 0.6 * np.median(np.asarray(tight)[~is_setup])
    for _ in range(376 * 2):  # the whole session in 30 s steps
        clock.advance(30.0)
        market.step()
    new_high = market.high[eq] > highs
    rel_volume = market.vtt[eq] / vols
    assert new_high[is_setup].mean() >= 0.6
    assert np.median(rel_volume[is_setup]) > 1.5 * np.median(rel_volume[~is_setup])


async def test_nse_size_master_quotes_and_history() -> None:
    """~2,200 NSE EQ names: unique 12-character ISINs, 500-key quotes, history."""
    state = _state(extra=2150)
    u = state.universe
    names = _nse_names(state)
    assert len(names) == 2200
    isins = [str(u.rows[i]["isin"]) for i in names]
    assert len(set(isins)) == 2200 and {len(x) for x in isins} == {12}
    assert len({u.rows[i]["trading_symbol"] for i in names}) == 2200
    token = state.tokens.mint()
    keys = [u.keys[i] for i in names]

    transport = httpx.ASGITransport(app=create_app(state))
    got = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        for i in range(0, len(keys), 500):
            resp = await client.get(
                "/v3/market-quote/quotes",
                params={"instrument_key": ",".join(keys[i : i + 500])},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert resp.status_code == 200
            got += len(resp.json()["data"])
        resp = await client.get(_path(keys[-1], "days", 1, "2026-11-23", "2026-10-01"))
        assert len(resp.json()["data"]["candles"]) > 30
    assert got == 2200


def test_quant_sim_equities_flag_and_bounds() -> None:
    parser = argparse.ArgumentParser()
    sim_cli.add_parser(parser.add_subparsers())
    start = ["--start", "2026-11-24T09:14:00+05:30"]
    config = sim_cli.config_from_args(parser.parse_args(["sim", "--equities", "2150", *start]))
    assert config.extra_equities == 2150
    assert sim_cli.config_from_args(parser.parse_args(["sim", *start])).extra_equities == 300
    with pytest.raises(ValueError, match="extra_equities must be 0-9000"):
        SimConfig(extra_equities=-1)


def test_the_scanner_picks_the_live_breakouts() -> None:
    """The platform's signals and default score, fed from the simulator at 11:30, rank
    most of the setups that have broken out among the top 20 of 350 names."""
    day = date(2026, 11, 24)
    config = SimConfig(seed=7, extra_equities=300, fno_extra_underlyings=0)
    uni = build_universe(config, day)
    clock = FakeClock(datetime_to_ns(datetime.combine(day, time(9, 14), tzinfo=IST)))
    m = Market(uni, clock, 7, config.calendar)
    hist = history.SyntheticHistory(7, uni, m.close_prev, m.tick, day, config.calendar)
    now = datetime_to_ns(datetime.combine(day, time(11, 30), tzinfo=IST))
    while clock.now_ns() < now:
        clock.advance(60.0)
        m.step()
    eq = np.nonzero(m.is_proc & (uni.kind == Kind.EQ))[0]
    days = list(hist.days[:20])[::-1]
    daily = [hist.day_candles(int(r), days) for r in eq]
    bars = list(m.minute_bars)
    pos = m.bar_pos[eq]
    nifty = uni.index_of[NIFTY]

    def col(i: int, scale: float = 100.0) -> F:
        return np.asarray([d[i] for d in daily], dtype=np.float64) / scale

    inputs = ScanInputs(
        last=m.ltp[eq] / 100,
        prev_close=m.close_prev[eq] / 100,
        day_open=m.open[eq] / 100,
        vwap=m.atp(eq) / 100,
        volume=m.vtt[eq].astype(np.float64),
        or_high=np.max(np.stack([b.high[pos] for b in bars[:15]]), axis=0) / 100,
        or_low=np.min(np.stack([b.low[pos] for b in bars[:15]]), axis=0) / 100,
        daily_high=col(1),
        daily_low=col(2),
        daily_close=col(3),
        daily_volume=col(4, 1.0),
        same_time_volume=np.asarray(
            [hist.days_bars(int(r), days)[4][:, : len(bars)].sum(axis=1) for r in eq],
            dtype=np.float64,
        ),
        minute_close=np.stack([b.close[pos] for b in bars], axis=1) / 100,
        index_last=float(m.ltp[nifty]) / 100,
        index_prev_close=float(m.close_prev[nifty]) / 100,
    )
    top = top_n(composite_score(compute_signals(inputs)), 20)
    started = np.isin(eq, m.bo_rows[m.bo_start <= now])
    assert started.sum() >= 5
    assert started[top].sum() >= 0.7 * started.sum()
