"""Portfolio routes: short-term positions from the day's fills, empty holdings, funds.

Positions aggregate the simulator's fills per (instrument, product) and mark them to the
current LTP (also sent as ``position`` updates on the portfolio stream after each fill);
funds report a fixed sandbox-like balance (margin is not modelled). Used by execution's
restart reconciliation. Mounted by :func:`quant.sim.app.create_app`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from quant.sim.orders import SimOrder
from quant.sim.state import SimState
from quant.sim.web import authed, ok, sim_state

FUNDS_RUPEES = 10_000_000.0


def positions_rows(
    state: SimState, user_id: str, only: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    """Short-term position rows of ``user_id`` (``only``: one (instrument_key, product))."""
    engine, m = state.engine, state.market
    agg: dict[tuple[str, str], dict[str, Any]] = {}
    for f in engine.fills:
        o = engine.orders[f.order_id]
        if o.user_id != user_id or (only is not None and (o.instrument_key, o.product) != only):
            continue
        p = agg.setdefault(
            (o.instrument_key, o.product),
            {
                "row": o.row,
                "exchange": o.exchange,
                "symbol": o.trading_symbol,
                "bq": 0,
                "bv": 0,
                "sq": 0,
                "sv": 0,
            },
        )
        side = "b" if o.side > 0 else "s"
        p[side + "q"] += f.qty
        p[side + "v"] += f.qty * f.price
    out = []
    for (key, product), p in agg.items():
        ltp = int(m.ltp[p["row"]])
        qty = p["bq"] - p["sq"]
        buy_px = p["bv"] / p["bq"] / 100 if p["bq"] else 0.0
        sell_px = p["sv"] / p["sq"] / 100 if p["sq"] else 0.0
        closed = min(p["bq"], p["sq"])
        realised = closed * (sell_px - buy_px)
        open_px = buy_px if qty > 0 else sell_px
        unrealised = qty * (ltp / 100 - open_px) if qty else 0.0
        out.append(
            {
                "exchange": p["exchange"],
                "multiplier": 1.0,
                "value": (p["sv"] - p["bv"]) / 100,
                "pnl": round(realised + unrealised, 2),
                "product": product,
                "instrument_token": key,
                "average_price": round(open_px, 2) if qty else 0.0,
                "buy_value": p["bv"] / 100,
                "overnight_quantity": 0,
                "day_buy_value": p["bv"] / 100,
                "day_buy_price": round(buy_px, 2),
                "overnight_buy_amount": 0.0,
                "overnight_buy_quantity": 0,
                "day_buy_quantity": p["bq"],
                "day_sell_value": p["sv"] / 100,
                "day_sell_price": round(sell_px, 2),
                "overnight_sell_amount": 0.0,
                "overnight_sell_quantity": 0,
                "day_sell_quantity": p["sq"],
                "quantity": qty,
                "last_price": ltp / 100,
                "unrealised": round(unrealised, 2),
                "realised": round(realised, 2),
                "sell_value": p["sv"] / 100,
                "tradingsymbol": p["symbol"],
                "trading_symbol": p["symbol"],
                "close_price": int(m.close_prev[p["row"]]) / 100,
                "buy_price": round(buy_px, 2),
                "sell_price": round(sell_px, 2),
            }
        )
    return out


def position_update(state: SimState, order: SimOrder) -> dict[str, Any]:
    """The portfolio stream's ``position`` update for ``order``'s instrument and product:
    the short-term-positions row (the live payload's exact shape is UNCONFIRMED)."""
    (row,) = positions_rows(state, order.user_id, (order.instrument_key, order.product))
    return {
        "update_type": "position",
        "user_id": order.user_id,
        "instrument_key": order.instrument_key,
        **row,
    }


async def positions(request: Request) -> JSONResponse:
    session = authed(request)
    return ok(positions_rows(sim_state(request), session.user_id))


async def holdings(request: Request) -> JSONResponse:
    authed(request)
    return ok([])


async def funds_v2(request: Request) -> JSONResponse:
    authed(request)
    seg = {
        "used_margin": 0.0,
        "payin_amount": 0.0,
        "span_margin": 0.0,
        "adhoc_margin": 0.0,
        "notional_cash": 0.0,
        "available_margin": FUNDS_RUPEES,
        "exposure_margin": 0.0,
    }
    return ok({"equity": seg, "commodity": dict(seg)})


ROUTES = [
    Route("/v2/portfolio/short-term-positions", positions),
    Route("/v2/portfolio/long-term-holdings", holdings),
    Route("/v2/user/get-funds-and-margin", funds_v2),
]
