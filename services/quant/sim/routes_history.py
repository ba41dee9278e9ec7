"""Historical candle V3 and intraday candle V3 routes with Upstox's unit/interval/range rules.

``/v3/historical-candle/{key}/{unit}/{interval}/{to_date}[/{from_date}]`` serves synthetic
history (:mod:`quant.sim.history`) for days before the session and the market's own minute
bars for the session day; ``/v3/historical-candle/intraday/{key}/{unit}/{interval}`` the
session only. Candles are newest first: ``[ts(+05:30), open, high, low, close, volume, oi]``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from quant.core.clock import IST, NS_PER_SECOND, ns_to_datetime
from quant.sim import history
from quant.sim.errors import INVALID_DATE_RANGE, SimApiError, bad_input
from quant.sim.market import Market, MinuteBars
from quant.sim.state import SimState
from quant.sim.web import ok, public, sim_state

UNITS = {"minutes": (1, 300), "hours": (1, 5), "days": (1, 1), "weeks": (1, 1), "months": (1, 1)}


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    y += day.year
    m += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(y, m, d)
        except ValueError:
            continue
    raise ValueError(day)


def _check(unit: str, interval: str) -> int:
    if unit not in UNITS:
        raise bad_input("Invalid unit", "unit", unit)
    lo, hi = UNITS[unit]
    if not interval.isdigit() or not lo <= int(interval) <= hi:
        raise bad_input(f"Invalid interval for unit {unit}", "interval", interval)
    return int(interval)


def _range_ok(unit: str, n: int, start: date, end: date) -> bool:
    if start > end:
        return False
    if unit == "minutes":
        earliest, span = date(2022, 1, 1), (1 if n <= 15 else 3)
    elif unit == "hours":
        earliest, span = date(2022, 1, 1), 3
    elif unit == "days":
        earliest, span = date(2000, 1, 1), 120
    else:
        return end >= date(2000, 1, 1)
    return start >= earliest and end <= _add_months(start, span)


@lru_cache(maxsize=8)
def _clock_labels(size: int) -> tuple[str, ...]:
    """``THH:MM:00+05:30`` of each ``size``-minute bar of a normal session."""
    first = 9 * 60 + 15
    return tuple(
        f"T{(first + m) // 60:02d}:{(first + m) % 60:02d}:00+05:30"
        for m in range(0, history.MINUTES, size)
    )


def _candles(day: date, bars: history.Bars, minutes_per_bar: int, oi: float) -> list[list[Any]]:
    o, h, lo, c, v = bars
    stamp = day.isoformat()
    labels = _clock_labels(minutes_per_bar)
    return [
        [stamp + t, *ohlc, vol, oi]
        for t, *ohlc, vol in zip(
            labels,
            (o / 100).tolist(),
            (h / 100).tolist(),
            (lo / 100).tolist(),
            (c / 100).tolist(),
            v.tolist(),
            strict=True,
        )
    ]


_HISTORIES: WeakKeyDictionary[Market, history.SyntheticHistory] = WeakKeyDictionary()


def synthetic(state: SimState) -> history.SyntheticHistory:
    """The market's synthetic history for its current trading day (rebuilt on a day roll)."""
    m = state.market
    got = _HISTORIES.get(m)
    if got is None or got.trade_date != m.trade_date:
        got = history.SyntheticHistory(
            state.config.seed, m.u, m.close_prev, m.tick, m.trade_date, state.config.calendar
        )
        _HISTORIES[m] = got
    return got


def _session_candles(state: SimState, row: int, size: int) -> list[list[Any]]:
    """The session's candles of ``size`` minutes from the market's minute bars, oldest first."""
    m = state.market
    pos = np.nonzero(m.bar_rows == row)[0]
    if len(pos) == 0:
        return []
    p = int(pos[0])
    bars = list(m.minute_bars)
    cur = m.current_bar()
    if cur is not None:
        bars.append(cur)
    open_ns = m.open_ns()
    width = size * 60 * NS_PER_SECOND
    groups: dict[int, list[MinuteBars]] = {}
    for bar in bars:
        groups.setdefault((bar.start_ns - open_ns) // width, []).append(bar)
    oi = float(m.oi[row])
    out: list[list[Any]] = []
    for g, bs in sorted(groups.items()):
        out.append(
            [
                ns_to_datetime(open_ns + g * width, IST).isoformat(),
                int(bs[0].open[p]) / 100,
                max(int(b.high[p]) for b in bs) / 100,
                min(int(b.low[p]) for b in bs) / 100,
                int(bs[-1].close[p]) / 100,
                sum(int(b.volume[p]) for b in bs),
                oi,
            ]
        )
    return out


def _day_candles(state: SimState, row: int, day: date, unit: str, n: int) -> list[list[Any]]:
    """Oldest-first candles of one day."""
    size = n if unit == "minutes" else 60 * n
    if day == state.market.trade_date:
        return _session_candles(state, row, size)
    past = synthetic(state).day_bars(row, day)
    if past is None:
        return []
    return _candles(day, history.aggregate(past, size), size, float(state.market.oi[row]))


def _daily(state: SimState, row: int, start: date, end: date) -> list[list[Any]]:
    out: list[list[Any]] = []
    m = state.market
    days = [
        d
        for d in history.trading_days_before(m.trade_date, state.config.calendar)
        if start <= d <= end
    ]
    if start <= m.trade_date <= end and m.open[row] > 0:
        out.append(
            [
                datetime.combine(m.trade_date, time(0), tzinfo=IST).isoformat(),
                int(m.open[row]) / 100,
                int(m.high[row]) / 100,
                int(m.low[row]) / 100,
                int(m.ltp[row]) / 100,
                int(m.vtt[row]),
                float(m.oi[row]),
            ]
        )
    o, h, lo, c, v = synthetic(state).day_candles(row, days)
    oi = float(m.oi[row])
    out.extend(
        [d.isoformat() + "T00:00:00+05:30", *ohlc, vol, oi]
        for d, *ohlc, vol in zip(
            days,
            (o / 100).tolist(),
            (h / 100).tolist(),
            (lo / 100).tolist(),
            (c / 100).tolist(),
            v.tolist(),
            strict=True,
        )
    )
    return out


def _bucket(candles: list[list[Any]], unit: str) -> list[list[Any]]:
    """Roll daily candles (newest first) into weeks or months."""
    groups: dict[str, list[list[Any]]] = {}
    for cnd in reversed(candles):
        d = date.fromisoformat(str(cnd[0])[:10])
        start = d - timedelta(days=d.weekday()) if unit == "weeks" else d.replace(day=1)
        groups.setdefault(datetime.combine(start, time(0), tzinfo=IST).isoformat(), []).append(cnd)
    out = [
        [
            k,
            g[0][1],
            max(x[2] for x in g),
            min(x[3] for x in g),
            g[-1][4],
            sum(x[5] for x in g),
            g[-1][6],
        ]
        for k, g in groups.items()
    ]
    return list(reversed(out))


def _row(state: SimState, key: str) -> int:
    row = state.universe.index_of.get(key)
    if row is None:
        raise bad_input("Invalid instrument key", "instrument_key", key)
    return row


async def historical(request: Request) -> JSONResponse:
    public(request)
    state = sim_state(request)
    p = request.path_params
    row = _row(state, p["key"])
    unit = p["unit"]
    n = _check(unit, p["interval"])
    try:
        end = date.fromisoformat(p["to_date"])
        start = date.fromisoformat(p["from_date"]) if p.get("from_date") else None
    except ValueError as exc:
        raise bad_input("Dates must be YYYY-MM-DD", "to_date") from exc
    if start is None:
        span = {"minutes": 1, "hours": 3, "days": 12, "weeks": 120, "months": 120}[unit]
        start = _add_months(end, -span) + timedelta(days=1)
    if not _range_ok(unit, n, start, end):
        raise SimApiError(400, INVALID_DATE_RANGE, "Invalid date range")
    if unit in ("minutes", "hours"):
        candles: list[list[Any]] = []
        d = end
        while d >= start:
            candles.extend(reversed(_day_candles(state, row, d, unit, n)))
            d -= timedelta(days=1)
        return ok({"candles": candles})
    daily = _daily(state, row, start, end)
    return ok({"candles": daily if unit == "days" else _bucket(daily, unit)})


async def intraday(request: Request) -> JSONResponse:
    public(request)
    state = sim_state(request)
    p = request.path_params
    row = _row(state, p["key"])
    unit = p["unit"]
    n = _check(unit, p["interval"])
    if unit == "days":
        return ok({"candles": _daily(state, row, state.market.trade_date, state.market.trade_date)})
    if unit not in ("minutes", "hours"):
        raise bad_input("Invalid unit", "unit", unit)
    return ok(
        {"candles": list(reversed(_day_candles(state, row, state.market.trade_date, unit, n)))}
    )


ROUTES = [
    Route("/v3/historical-candle/intraday/{key}/{unit}/{interval}", intraday),
    Route("/v3/historical-candle/{key}/{unit}/{interval}/{to_date}/{from_date}", historical),
    Route("/v3/historical-candle/{key}/{unit}/{interval}/{to_date}", historical),
]
