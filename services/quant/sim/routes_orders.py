"""Order routes: V3 place/modify/cancel (the SDK's order host is this same port), multi
place, cancel-all, exit positions, order book, details, history, trades. Order commands
use the ``orders`` rate-limit bucket; the ``X-Algo-Name`` header of a placing request is
recorded on its orders (``SimOrder.algo_name``). An order command can be executed with
its answer held back (fault hook ``SimServer.lose_order_answers``). Every order command,
answered or refused (429 included), is recorded in ``SimState.order_log``
(:mod:`quant.sim.orderlog`). Mounted by :func:`quant.sim.app.create_app`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import wraps
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from quant.sim.errors import SimApiError, bad_input
from quant.sim.matching import OrderEngine
from quant.sim.orderlog import OrderLog
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


def _log(request: Request) -> OrderLog:
    log: OrderLog = sim_state(request).order_log
    return log


def _accepted(request: Request, command: str, user_id: str, tag: Any, ids: Iterable[str]) -> None:
    _log(request).record(
        command, user_id, 200, tag=None if tag is None else str(tag), order_ids=ids
    )


async def _sent_tag(request: Request) -> str | None:
    """The ``tag`` of a refused command's body, when it has one (best effort)."""
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    tag = body.get("tag") if isinstance(body, dict) else None
    return None if tag is None else str(tag)


CLIENT_GONE = 499  # nginx's "client closed request": never seen by that client
Route_ = Callable[[Request], Awaitable[JSONResponse]]


def _logged(command: str) -> Callable[[Route_], Route_]:
    """Record a refused order command (the route records its own success); a client that
    went away before its request was read (e.g. a killed process) is logged, not raised."""

    def wrap(route: Route_) -> Route_:
        @wraps(route)
        async def run(request: Request) -> JSONResponse:
            try:
                return await route(request)
            except SimApiError as exc:
                tag = await _sent_tag(request) if request.method != "DELETE" else None
                _log(request).record(command, "", exc.status, code=exc.code, tag=tag)
                raise
            except ClientDisconnect:  # the client died mid-request: nothing was done
                _log(request).record(command, "", CLIENT_GONE, code="client disconnected")
                return JSONResponse({}, status_code=CLIENT_GONE)

        return run

    return wrap


def _algo_name(request: Request) -> str | None:
    return request.headers.get("x-algo-name") or None


async def _hold_answer(request: Request) -> None:
    """The "accepted, then the answer is lost" fault (``SimServer.lose_order_answers``)."""
    faults = sim_state(request).faults
    if faults.held_order_answers > 0:
        faults.held_order_answers -= 1
        await asyncio.sleep(faults.held_answer_seconds)


def _latency(started: float) -> dict[str, Any]:
    return {"metadata": {"latency": max(1, int((time.perf_counter() - started) * 1000))}}


@_logged("place")
async def place_v3(request: Request) -> JSONResponse:
    started = time.perf_counter()
    session = authed(request, "orders")
    body = await _json(request)
    ids = _engine(request).place(session.user_id, body, _algo_name(request))
    _accepted(request, "place", session.user_id, body.get("tag"), ids)
    await _hold_answer(request)
    return ok({"order_ids": ids}, **_latency(started))


@_logged("modify")
async def modify_v3(request: Request) -> JSONResponse:
    started = time.perf_counter()
    session = authed(request, "orders")
    oid = _engine(request).modify(session.user_id, await _json(request))
    _accepted(request, "modify", session.user_id, _engine(request).orders[oid].tag, [oid])
    await _hold_answer(request)
    return ok({"order_id": oid}, **_latency(started))


@_logged("cancel")
async def cancel_v3(request: Request) -> JSONResponse:
    started = time.perf_counter()
    session = authed(request, "orders")
    oid = _engine(request).cancel(session.user_id, request.query_params.get("order_id", ""))
    _accepted(request, "cancel", session.user_id, _engine(request).orders[oid].tag, [oid])
    await _hold_answer(request)
    return ok({"order_id": oid}, **_latency(started))


def _summary(total: int, errors: int) -> dict[str, int]:
    return {"total": total, "success": total - errors, "error": errors}


def _batch(
    status_ok: bool,
    data: Any,
    errors: list[dict[str, Any]],
    total: int,
    extra: dict[str, int] | None = None,
) -> JSONResponse:
    status = "success" if not errors else ("partial_success" if status_ok else "error")
    body: dict[str, Any] = {
        "status": status,
        "data": data,
        "summary": {**_summary(total, len(errors)), **(extra or {})},
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=200 if status != "error" else 400)


@_logged("multi_place")
async def multi_place(request: Request) -> JSONResponse:
    session = authed(request, "orders")
    try:
        body = json.loads(await request.body() or b"[]")
    except json.JSONDecodeError as exc:
        raise bad_input("Request body is not valid JSON") from exc
    if not isinstance(body, list) or not body:
        raise bad_input("Request body must be a non-empty list of orders")
    engine = _engine(request)
    data: list[dict[str, str]] = []
    errors: list[dict[str, Any]] = []
    for item in body:
        cid = str(item.get("correlation_id") or "") if isinstance(item, dict) else ""
        if not cid:
            raise bad_input("correlation_id is required for every order", "correlation_id")
        try:
            ids = engine.place(session.user_id, item, _algo_name(request))
            _accepted(request, "multi_place", session.user_id, item.get("tag"), ids)
            data.extend({"correlation_id": cid, "order_id": oid} for oid in ids)
        except SimApiError as exc:
            errors.append({**exc.body()["errors"][0], "correlation_id": cid})
    return _batch(bool(data), data, errors, len(body), {"payload_error": 0})


@_logged("cancel_all")
async def multi_cancel(request: Request) -> JSONResponse:
    session = authed(request, "orders")
    q = request.query_params
    ids = _engine(request).cancel_all(session.user_id, q.get("tag"), q.get("segment"))
    if not ids:
        raise SimApiError(400, "UDAPI1109", "No open orders to cancel")
    _accepted(request, "cancel_all", session.user_id, q.get("tag"), ids)
    return _batch(True, {"order_ids": ids}, [], len(ids))


@_logged("exit_positions")
async def exit_positions(request: Request) -> JSONResponse:
    session = authed(request, "orders")
    engine = _engine(request)
    engine.cancel_all(session.user_id)
    ids: list[str] = []
    errors: list[dict[str, Any]] = []
    for (key, product), qty in engine.net_positions(session.user_id).items():
        if qty == 0:
            continue
        order = {
            "instrument_token": key,
            "quantity": abs(qty),
            "product": product,
            "validity": "DAY",
            "price": 0,
            "order_type": "MARKET",
            "transaction_type": "SELL" if qty > 0 else "BUY",
            "slice": True,
        }
        try:
            ids.extend(engine.place(session.user_id, order, _algo_name(request)))
        except SimApiError as exc:
            errors.append({**exc.body()["errors"][0], "instrument_key": key, "order_id": None})
    if not ids and not errors:
        raise SimApiError(400, "UDAPI1111", "No open positions to exit")
    _accepted(request, "exit_positions", session.user_id, None, ids)
    return _batch(bool(ids), {"order_ids": ids}, errors, len(ids) + len(errors))


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
    Route("/v2/order/multi/place", multi_place, methods=["POST"]),
    Route("/v2/order/multi/cancel", multi_cancel, methods=["DELETE"]),
    Route("/v2/order/positions/exit", exit_positions, methods=["POST"]),
    Route("/v2/order/retrieve-all", order_book),
    Route("/v2/order/details", order_details),
    Route("/v2/order/history", order_history),
    Route("/v2/order/trades/get-trades-for-day", trades_for_day),
    Route("/v2/order/trades", trades_for_day),
]
