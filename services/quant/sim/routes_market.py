"""REST market data routes: instrument files, full quotes, LTP, OHLC, market info.

Mounted by :func:`quant.sim.app.create_app`. Quote payloads are keyed
``SEGMENT:SYMBOL`` with the ``instrument_token`` (the instrument key) inside, as Upstox
does; prices are rupees (converted from the model's paise at this edge).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from quant.core.clock import IST, NS_PER_MS, ns_to_datetime
from quant.sim import calendar
from quant.sim.errors import bad_input
from quant.sim.state import SimState
from quant.sim.web import authed, ok, public, sim_state

_MASTER_CHUNK = 64 * 1024


async def instruments_file(request: Request) -> Response:
    name = request.path_params["name"]
    exchange = {"complete.json.gz": None, "NSE.json.gz": "NSE", "BSE.json.gz": "BSE"}
    if name not in exchange:
        return JSONResponse({"error": "not found"}, status_code=404)
    state = sim_state(request)
    body = state.master_gz(exchange[name])
    delay = state.faults.master_chunk_delay
    if delay <= 0:
        return Response(body, media_type="application/gzip")

    async def slowly() -> AsyncIterator[bytes]:
        for i in range(0, len(body), _MASTER_CHUNK):
            await asyncio.sleep(delay)
            yield body[i : i + _MASTER_CHUNK]

    return StreamingResponse(slowly(), media_type="application/gzip")


def _keys(request: Request) -> str | None:
    """``instrument_key`` (V3) or the V2 endpoints' legacy ``symbol`` parameter."""
    q = request.query_params
    return q.get("instrument_key") or q.get("symbol")


def _ohlc(state: SimState, i: int) -> dict[str, float]:
    m = state.market
    ltp = int(m.ltp[i])
    return {
        "open": (int(m.open[i]) or ltp) / 100.0,
        "high": (int(m.high[i]) or ltp) / 100.0,
        "low": (int(m.low[i]) or ltp) / 100.0,
        "close": ltp / 100.0,
    }


def full_quote(state: SimState, rows: list[int], v3: bool = False) -> dict[str, Any]:
    m, u = state.market, state.universe
    idx = np.asarray(rows, dtype=np.int64)
    book = m.book(idx)
    atp = m.atp(idx)
    out: dict[str, Any] = {}
    for j, i in enumerate(rows):
        cp = int(m.close_prev[i]) / 100.0
        ltp = int(m.ltp[i]) / 100.0
        lo, hi = int(m.circuit_lo[i]) / 100.0, int(m.circuit_hi[i]) / 100.0  # 0 = none
        depth = {
            "buy": [
                {
                    "quantity": int(book.bid_qty[j, k]),
                    "price": book.bid_price[j, k] / 100.0,
                    "orders": int(book.bid_orders[j, k]),
                }
                for k in range(5)
            ],
            "sell": [
                {
                    "quantity": int(book.ask_qty[j, k]),
                    "price": book.ask_price[j, k] / 100.0,
                    "orders": int(book.ask_orders[j, k]),
                }
                for k in range(5)
            ],
        }
        row: dict[str, Any] = {
            "ohlc": _ohlc(state, i),
            "depth": depth,
            "timestamp": ns_to_datetime(m.last_ns, IST).isoformat(timespec="milliseconds"),
            "instrument_token": u.keys[i],
            "symbol": str(u.rows[i]["trading_symbol"]),
            "last_price": ltp,
            "volume": int(m.vtt[i]),
            "average_price": round(atp[j] / 100, 2),
            "oi": float(m.oi[i]),
            "net_change": round(ltp - cp, 2),
            "total_buy_quantity": float(book.bid_qty[j].sum()),
            "total_sell_quantity": float(book.ask_qty[j].sum()),
            "lower_circuit_limit": lo,
            "upper_circuit_limit": hi,
            "last_trade_time": str(int(m.ltt_ms[i])),
            "oi_day_high": 0.0,
            "oi_day_low": 0.0,
        }
        if v3:
            row.update(
                {
                    "prev_close_price": cp,
                    "year_high": 0.0,
                    "year_low": 0.0,
                    "previous_oi": float(m.oi[i]),
                    "indicative_equilibrium_price": int(m.iep[i]) / 100.0,
                    "reference_price": cp,
                }
            )
        out[u.quote_keys[i]] = row
    return out


async def quotes_v2(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    rows = state.rows_for(_keys(request), 500)
    return ok(full_quote(state, rows))


async def quotes_v3(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    rows = state.rows_for(_keys(request), 500)
    return ok(full_quote(state, rows, v3=True))


async def ltp_v3(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    m, u = state.market, state.universe
    rows = state.rows_for(_keys(request), 500)
    return ok(
        {
            u.quote_keys[i]: {
                "last_price": int(m.ltp[i]) / 100.0,
                "instrument_token": u.keys[i],
                "ltq": int(m.ltq[i]),
                "volume": int(m.vtt[i]),
                "cp": int(m.close_prev[i]) / 100.0,
            }
            for i in rows
        }
    )


async def ltp_v2(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    m, u = state.market, state.universe
    rows = state.rows_for(_keys(request), 500)
    return ok(
        {
            u.quote_keys[i]: {"last_price": int(m.ltp[i]) / 100.0, "instrument_token": u.keys[i]}
            for i in rows
        }
    )


async def ohlc_v3(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    interval = request.query_params.get("interval")
    if interval not in ("1d", "I1", "I30"):
        raise bad_input("interval must be one of 1d, I1, I30", "interval", interval)
    m, u = state.market, state.universe
    rows = state.rows_for(_keys(request), 500)
    day_ms = m.open_ns() // NS_PER_MS
    out = {}
    for i in rows:
        live = {**_ohlc(state, i), "volume": int(m.vtt[i]), "ts": day_ms}
        cp = int(m.close_prev[i]) / 100.0
        prev = {
            "open": cp,
            "high": cp,
            "low": cp,
            "close": cp,
            "volume": 0,
            "ts": day_ms - 86_400_000,
        }
        out[u.quote_keys[i]] = {
            "last_price": int(m.ltp[i]) / 100.0,
            "instrument_token": u.keys[i],
            "prev_ohlc": prev,
            "live_ohlc": live,
        }
    return ok(out)


async def ohlc_v2(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    if request.query_params.get("interval") not in ("1d", "I1", "I30"):
        raise bad_input("interval must be one of 1d, I1, I30", "interval")
    m, u = state.market, state.universe
    rows = state.rows_for(_keys(request), 500)
    return ok(
        {
            u.quote_keys[i]: {
                "ohlc": _ohlc(state, i),
                "last_price": int(m.ltp[i]) / 100,
                "instrument_token": u.keys[i],
            }
            for i in rows
        }
    )


async def holidays(request: Request) -> JSONResponse:
    public(request)
    state = sim_state(request)
    day = request.path_params.get("day")
    cal = state.config.calendar
    if day is None:
        return ok(calendar.holiday_rows(cal, int(state.today_ist()[:4])))
    try:
        wanted = date.fromisoformat(day)
    except ValueError as exc:
        raise bad_input("date must be YYYY-MM-DD", "date", day) from exc
    return ok([r for r in calendar.holiday_rows(cal) if r["date"] == wanted.isoformat()])


async def timings(request: Request) -> JSONResponse:
    public(request)
    state = sim_state(request)
    try:
        day = date.fromisoformat(request.path_params["day"])
    except ValueError as exc:
        raise bad_input("date must be YYYY-MM-DD", "date") from exc
    return ok(calendar.timings(day, state.config.calendar))


async def market_status(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    now = state.clock.now_ns()
    phase = calendar.phase_at(now, state.config.calendar)
    return ok(
        {
            "exchange": request.path_params["exchange"],
            "status": phase.value,
            "last_updated": now // NS_PER_MS,
        }
    )


ROUTES = [
    Route("/market-quote/instruments/exchange/{name}", instruments_file),
    Route("/v2/market-quote/quotes", quotes_v2),
    Route("/v3/market-quote/quotes", quotes_v3),
    Route("/v2/market-quote/ltp", ltp_v2),
    Route("/v3/market-quote/ltp", ltp_v3),
    Route("/v3/market-quote/ohlc", ohlc_v3),
    Route("/v2/market-quote/ohlc", ohlc_v2),
    Route("/v2/market/holidays", holidays),
    Route("/v2/market/holidays/{day}", holidays),
    Route("/v2/market/timings/{day}", timings),
    Route("/v2/market/status/{exchange}", market_status),
]
