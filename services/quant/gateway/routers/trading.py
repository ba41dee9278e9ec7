"""``/api/v1`` trading: orders, trades, positions, P&L and the kill switch, for API keys.

The gateway holds no order state: each endpoint checks the caller's role itself
(``require_role``, an API key or a logged-in browser's session with its CSRF token:
viewer to read, trader to place or cancel orders and to use the kill switch), then
forwards the request with the caller's ``Authorization`` header (for a session: the key
the gateway holds for that user, :func:`~quant.gateway.auth.forward_authorization`) to the
execution service's own API (:class:`~quant.gateway.ports.ExecutionPort`, ``/v1/...``) and
passes its JSON on, checked against the models of :mod:`quant.gateway.schemas`.

- ``GET /trades?limit=50``: fills, newest first, with their charges;
- ``GET /orders?limit=100``: orders, newest first (``client_order_id``, ``status``,
  ``reason`` when rejected, ``submitted_at``: when it went to the broker);
- ``GET /positions``, ``GET /pnl`` (with the trading states);
- ``POST /orders``: a manual order (``symbol`` as the quote endpoint takes it, resolved
  here to its instrument_key; prices as rupee strings) through the same risk checks as a
  strategy's: 201 with the order(s), or 422 ``{"detail": {"code", "message"}}`` when the
  risk check refuses it (a malformed body is 422 in the validation shape);
- ``DELETE /orders/{client_order_id}``: 200 the order, 404 unknown, 409 not cancellable;
- ``PATCH /orders/{client_order_id}``: change a working order's quantity, price, trigger
  price, type or validity: 200 the order, 404 unknown, 409 not modifiable, 422 refused;
- ``POST /killswitch`` ``{"action": "halt"|"flatten"|"resume", "strategy"?}``: the states.

When the execution service is not configured, down, slow or still recovering the answer
is 503 with a message that says so (never a 500); an answer the gateway cannot read is
502.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import TypeAdapter, ValidationError

from quant.gateway import errors
from quant.gateway.auth import forward_authorization, require_role
from quant.gateway.deps import InstrumentsDep, PortsDep
from quant.gateway.ports import ExecutionReply, ExecutionUnavailable
from quant.gateway.routers.market import find_instrument, unknown_symbol
from quant.gateway.schemas import (
    CLIENT_ORDER_ID_PATTERN,
    KillSwitchIn,
    ModifyOrderIn,
    OrderOut,
    PlaceOrderIn,
    PlaceOrderOut,
    PnlOut,
    PositionOut,
    RejectionDetail,
    RejectionOut,
    TradeOut,
    TradingStateOut,
)
from quant.users.roles import Role

router = APIRouter(prefix="/api/v1", tags=["trading"])

T = TypeVar("T")
# the role check runs first, before the body or the parameters are looked at
VIEWER = [Depends(require_role(Role.VIEWER))]
TRADER = [Depends(require_role(Role.TRADER))]
MAX_LIMIT = 1000
Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"at most this many, newest first (1-{MAX_LIMIT})")
]
RETRY = {"Retry-After": "5"}
_PASSED_ON = (401, 403, 404, 409, 503)  # the execution service's errors said as they are


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    words = {
        401: "No API key, or not a valid one",
        403: "User disabled, or role too low",
        404: "No such order",
        409: "The order cannot be cancelled or modified now (filled, cancelled or "
        "rejected; for a modification also: not acknowledged yet, or a request pending)",
        502: "The execution service answered something the gateway cannot read",
        503: "The user store or the execution service cannot be asked, or execution is "
        "still recovering (the message says which; retry after Retry-After seconds)",
    }
    out = errors.responses(*codes, 401, 403, 502, 503)
    for code, text in words.items():
        if code in out:
            out[code]["description"] = text
    return out


def _order_responses() -> dict[int | str, dict[str, Any]]:
    out = _responses()
    out[422] = {
        "model": RejectionOut | errors.ValidationErrorOut,
        "description": 'Refused by the risk check: {"detail": {"code", "message"}} with a '
        'stable reason code; or a malformed body: {"detail": [{"loc", "msg", "type"}]}',
    }
    return out


async def _ask(
    ports: PortsDep,
    request: Request,
    method: str,
    path: str,
    *,
    params: Mapping[str, str | int] | None = None,
    body: Any = None,
) -> ExecutionReply:
    execution = ports.execution
    if execution is None:
        raise HTTPException(
            503,
            "this gateway has no execution service to ask (QUANT_GATEWAY__EXECUTION_URL)",
            headers=RETRY,
        )
    try:
        return await execution.request(
            method,
            path,
            authorization=forward_authorization(request),
            params=params,
            body=body,
        )
    except ExecutionUnavailable as e:
        raise HTTPException(503, str(e), headers=RETRY) from None


def _unexpected(reply: ExecutionReply) -> HTTPException:
    return HTTPException(
        502, f"the execution service answered HTTP {reply.status} with a body it should not"
    )


def _error(reply: ExecutionReply) -> HTTPException:
    """The execution service's refusal, said to the caller in the gateway's shapes."""
    body = reply.body if isinstance(reply.body, dict) else {}
    detail = body.get("detail")
    if reply.status == 422:
        if isinstance(detail, dict):
            try:
                return HTTPException(422, RejectionDetail.model_validate(detail).model_dump())
            except ValidationError:
                return _unexpected(reply)
        issues = errors.brief_issues(detail)
        if issues is not None:
            return HTTPException(422, issues)
    if reply.status in _PASSED_ON and isinstance(detail, str):
        headers = {401: {"WWW-Authenticate": "Bearer"}, 503: RETRY}.get(reply.status)
        return HTTPException(reply.status, detail, headers=headers)
    return _unexpected(reply)


def _answer(reply: ExecutionReply, shape: TypeAdapter[T], ok: int = 200) -> T:
    if reply.status != ok:
        raise _error(reply)
    try:
        return shape.validate_python(reply.body)
    except ValidationError:
        raise _unexpected(reply) from None


_ORDERS = TypeAdapter(list[OrderOut])
_TRADES = TypeAdapter(list[TradeOut])
_POSITIONS = TypeAdapter(list[PositionOut])
_PNL = TypeAdapter(PnlOut)
_PLACED = TypeAdapter(PlaceOrderOut)
_ORDER = TypeAdapter(OrderOut)
_STATES = TypeAdapter(TradingStateOut)


@router.get("/trades", response_model=list[TradeOut], responses=_responses(), dependencies=VIEWER)
async def trades(
    ports: PortsDep,
    request: Request,
    limit: Limit = 50,
) -> list[TradeOut]:
    """The day's fills, newest first, each with its charges (the trade history)."""
    reply = await _ask(ports, request, "GET", "/v1/trades", params={"limit": limit})
    return _answer(reply, _TRADES)


@router.get("/orders", response_model=list[OrderOut], responses=_responses(), dependencies=VIEWER)
async def orders(
    ports: PortsDep,
    request: Request,
    limit: Limit = 100,
) -> list[OrderOut]:
    """Orders, newest first: status, reject reason, when each went to the broker."""
    reply = await _ask(ports, request, "GET", "/v1/orders", params={"limit": limit})
    return _answer(reply, _ORDERS)


@router.get(
    "/positions",
    response_model=list[PositionOut],
    responses=_responses(),
    dependencies=VIEWER,
)
async def positions(ports: PortsDep, request: Request) -> list[PositionOut]:
    """Open positions per strategy, instrument and product, with their P&L."""
    return _answer(await _ask(ports, request, "GET", "/v1/positions"), _POSITIONS)


@router.get("/pnl", response_model=PnlOut, responses=_responses(), dependencies=VIEWER)
async def pnl(ports: PortsDep, request: Request) -> PnlOut:
    """The day's P&L (realised, unrealised, charges, net), per strategy, and the trading
    states of the account and the strategies."""
    return _answer(await _ask(ports, request, "GET", "/v1/pnl"), _PNL)


@router.post(
    "/orders",
    status_code=201,
    response_model=PlaceOrderOut,
    responses=_order_responses(),
    dependencies=TRADER,
)
async def place_order(
    order: PlaceOrderIn,
    ports: PortsDep,
    instruments: InstrumentsDep,
    request: Request,
) -> PlaceOrderOut:
    """Place a manual order through the execution service's risk checks."""
    try:
        inst = find_instrument(instruments, order.symbol)
    except ValueError as e:
        raise errors.invalid("body", "symbol", str(e)) from e
    if inst is None:
        raise errors.invalid("body", "symbol", unknown_symbol(order.symbol))
    body = order.model_dump(exclude={"symbol"}) | {"instrument_key": inst.instrument_key}
    reply = await _ask(ports, request, "POST", "/v1/orders", body=body)
    return _answer(reply, _PLACED, ok=201)


@router.delete(
    "/orders/{client_order_id}",
    response_model=OrderOut,
    responses=_responses(404, 409),
    dependencies=TRADER,
)
async def cancel_order(
    client_order_id: Annotated[
        str, Path(pattern=CLIENT_ORDER_ID_PATTERN, description="e.g. manual-261207-3")
    ],
    ports: PortsDep,
    request: Request,
) -> OrderOut:
    """Cancel a working order; 409 when it is already filled, cancelled or rejected."""
    reply = await _ask(ports, request, "DELETE", f"/v1/orders/{client_order_id}")
    return _answer(reply, _ORDER)


@router.patch(
    "/orders/{client_order_id}",
    response_model=OrderOut,
    responses={**_order_responses(), **_responses(404, 409)},
    dependencies=TRADER,
)
async def modify_order(
    client_order_id: Annotated[
        str, Path(pattern=CLIENT_ORDER_ID_PATTERN, description="e.g. manual-261207-3")
    ],
    change: ModifyOrderIn,
    ports: PortsDep,
    request: Request,
) -> OrderOut:
    """Modify a working order (the broker confirms it: the order shows MODIFY_PENDING until
    then); the amended order passes the same risk checks as a new one. 409 when it is
    final, not yet acknowledged, or already has a modify or cancel pending."""
    body = change.model_dump(exclude_none=True)
    if not body:
        raise errors.invalid("body", "", "give at least one field to change")
    reply = await _ask(ports, request, "PATCH", f"/v1/orders/{client_order_id}", body=body)
    return _answer(reply, _ORDER)


@router.post(
    "/killswitch", response_model=TradingStateOut, responses=_responses(), dependencies=TRADER
)
async def killswitch(command: KillSwitchIn, ports: PortsDep, request: Request) -> TradingStateOut:
    """Halt (cancel working orders, refuse new ones), flatten (halt, then close every
    position) or resume, for the account or one strategy; answers the states after it.
    Nothing resumes by itself."""
    body = command.model_dump(exclude_none=True)
    reply = await _ask(ports, request, "POST", "/v1/killswitch", body=body)
    return _answer(reply, _STATES)
