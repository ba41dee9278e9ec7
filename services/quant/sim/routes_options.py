"""Option chain (``/v2/option/chain``), option contracts and option greeks V3 routes.

Greeks are the platform's Black-76 greeks (:func:`quant.sim.pricing.option_greeks`, Upstox's
units) at the simulator's smile (:func:`quant.sim.pricing.smile_vol`); ``iv`` is in percent
here, as in Upstox's option-chain samples (the feed carries a fraction).
Mounted by :func:`quant.sim.app.create_app`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from quant.core.clock import IST, ns_to_datetime
from quant.sim.errors import bad_input
from quant.sim.state import SimState
from quant.sim.web import authed, ok, sim_state


def _options_of(state: SimState, key: str | None, expiry: str | None) -> np.ndarray:
    u, m = state.universe, state.market
    row = u.index_of.get(key or "")
    if row is None:
        raise bad_input("Invalid instrument key", "instrument_key", key)
    mask = m.is_opt & (u.underlying == row)
    if expiry:
        try:
            wanted = date.fromisoformat(expiry)
        except ValueError as exc:
            raise bad_input("expiry_date must be YYYY-MM-DD", "expiry_date", expiry) from exc
        days = np.asarray([ns_to_datetime(int(x), IST).date() == wanted for x in u.expiry_ns[mask]])
        idx = np.nonzero(mask)[0][days] if len(days) else np.zeros(0, dtype=np.int64)
        return idx
    return np.nonzero(mask)[0]


async def option_chain(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    q = request.query_params
    if not q.get("expiry_date"):
        raise bad_input("expiry_date is required", "expiry_date")
    rows = _options_of(state, q.get("instrument_key"), q.get("expiry_date"))
    m, u = state.market, state.universe
    if len(rows) == 0:
        return ok([])
    greeks, iv = m.greeks(rows)
    book = m.book(rows)
    spot = float(m.fair[u.underlying[rows[0]]])
    by_strike: dict[float, dict[str, Any]] = {}
    for j, i in enumerate(rows.tolist()):
        strike = float(u.strike[i])
        side = "call_options" if m.is_call[i] else "put_options"
        entry = by_strike.setdefault(
            strike,
            {
                "expiry": q["expiry_date"],
                "pcr": 0.0,
                "strike_price": strike,
                "underlying_key": u.keys[int(u.underlying[i])],
                "underlying_spot_price": round(spot, 2),
            },
        )
        entry[side] = {
            "instrument_key": u.keys[i],
            "market_data": {
                "ltp": int(m.ltp[i]) / 100,
                "volume": int(m.vtt[i]),
                "oi": float(m.oi[i]),
                "close_price": int(m.close_prev[i]) / 100,
                "bid_price": int(book.bid_price[j, 0]) / 100,
                "bid_qty": int(book.bid_qty[j, 0]),
                "ask_price": int(book.ask_price[j, 0]) / 100,
                "ask_qty": int(book.ask_qty[j, 0]),
                "prev_oi": float(m.oi[i]),
            },
            "option_greeks": {
                "vega": round(float(greeks.vega[j]), 4),
                "theta": round(float(greeks.theta[j]), 4),
                "gamma": round(float(greeks.gamma[j]), 6),
                "delta": round(float(greeks.delta[j]), 4),
                "iv": round(float(iv[j]) * 100, 2),
                "pop": round(abs(float(greeks.delta[j])) * 100, 2),
            },
        }
    for entry in by_strike.values():
        call_oi = entry.get("call_options", {}).get("market_data", {}).get("oi", 0.0)
        put_oi = entry.get("put_options", {}).get("market_data", {}).get("oi", 0.0)
        entry["pcr"] = round(put_oi / call_oi, 4) if call_oi else 0.0
    return ok([by_strike[k] for k in sorted(by_strike)])


async def option_contracts(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    q = request.query_params
    rows = _options_of(state, q.get("instrument_key"), q.get("expiry_date"))
    out = []
    for i in rows.tolist():
        row = dict(state.universe.rows[i])
        row["expiry"] = ns_to_datetime(int(state.universe.expiry_ns[i]), IST).date().isoformat()
        out.append(row)
    return ok(out)


async def option_greek_v3(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    rows = np.asarray(
        state.rows_for(request.query_params.get("instrument_key"), 50), dtype=np.int64
    )
    m, u = state.market, state.universe
    rows = rows[m.is_opt[rows]] if len(rows) else rows
    if len(rows) == 0:
        return ok({})
    greeks, iv = m.greeks(rows)
    out = {}
    for j, i in enumerate(rows.tolist()):
        out[u.quote_keys[i]] = {
            "last_price": int(m.ltp[i]) / 100,
            "instrument_token": u.keys[i],
            "ltq": int(m.ltq[i]),
            "volume": int(m.vtt[i]),
            "cp": int(m.close_prev[i]) / 100,
            "iv": round(float(iv[j]) * 100, 2),
            "vega": round(float(greeks.vega[j]), 4),
            "gamma": round(float(greeks.gamma[j]), 6),
            "theta": round(float(greeks.theta[j]), 4),
            "delta": round(float(greeks.delta[j]), 4),
            "oi": float(m.oi[i]),
        }
    return ok(out)


ROUTES = [
    Route("/v2/option/chain", option_chain),
    Route("/v2/option/contract", option_contracts),
    Route("/v3/market-quote/option-greek", option_greek_v3),
]
