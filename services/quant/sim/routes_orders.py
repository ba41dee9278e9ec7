"""Order routes: V3 place/modify/cancel (the SDK's order host is this same port), order
book, details, history, trades. Order commands use the ``orders`` rate-limit bucket.
Mounted by :func:`quant.sim.app.create_app`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from quant.sim.errors import SimApiError, bad_input
from quant.sim.matching import OrderEngine
from quant.sim.orders import fill_json, order_json
from quant.sim.web import authed, ok, sim_state


def _engine(request: Request) -> OrderEngine:
    engine: OrderEngine = sim_state(request).engine
    return engine


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise bad_input("Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise bad_input("Request body must be an object")
    return body


def _latency(started: float) -> dict[str, Any]:
    return {"metadata": {"latency": max(1, int((time.perf_counter() - started) * 1000))}}


async def place_v3(request: Request) -> JSONResponse:
    started = time.perf_counter()
    session = authed(request, "orders")
    ids = _engine(request).place(session.user_id, await _json(request))
    return ok({"order_ids": ids}, **_latency(started))


async def modify_v3(request: Request) -> JSONResponse:
    started = time.perf_counter()
    session = authed(request, "orders")
    oid = _engine(request).modify(session.user_id, await _json(request))
    return ok({"order_id": oid}, **_latency(started))


async def cancel_v3(request: Request) -> JSONResponse:
    started = time.perf_counter()
    session = authed(request, "orders")
    oid = _engine(request).cancel(session.user_id, request.query_params.get("order_id", ""))
    return ok({"order_id": oid}, **_latency(started))


async def order_book(request: Request) -> JSONResponse:
    session = authed(request)
    orders = _engine(request).orders.values()
    return ok([order_json(o) for o in orders if o.user_id == session.user_id])


async def order_details(request: Request) -> JSONResponse:
    session = authed(request)
    engine = _engine(request)
    o = engine.orders.get(request.query_params.get("order_id", ""))
    if o is None or o.user_id != session.user_id:
        raise SimApiError(404, "UDAPI100060", "Order not found", "order_id")
    return ok(order_json(o))


async def order_history(request: Request) -> JSONResponse:
    session = authed(request)
    engine = _engine(request)
    oid, tag = request.query_params.get("order_id"), request.query_params.get("tag")
    if not oid and not tag:
        raise bad_input("order_id or tag is required", "order_id")
    rows = [
        h
        for o in engine.orders.values()
        if o.user_id == session.user_id and (o.order_id == oid or (tag and o.tag == tag))
        for h in o.history
    ]
    return ok(rows)


async def trades_for_day(request: Request) -> JSONResponse:
    session = authed(request)
    engine = _engine(request)
    oid = request.query_params.get("order_id")
    out = []
    for f in engine.fills:
        o = engine.orders[f.order_id]
        if o.user_id == session.user_id and (oid is None or f.order_id == oid):
            out.append(fill_json(o, f))
    return ok(out)


ROUTES = [
    Route("/v3/order/place", place_v3, methods=["POST"]),
    Route("/v3/order/modify", modify_v3, methods=["PUT"]),
    Route("/v3/order/cancel", cancel_v3, methods=["DELETE"]),
    Route("/v2/order/retrieve-all", order_book),
    Route("/v2/order/details", order_details),
    Route("/v2/order/history", order_history),
    Route("/v2/order/trades/get-trades-for-day", trades_for_day),
    Route("/v2/order/trades", trades_for_day),
]
