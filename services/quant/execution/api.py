"""The execution service's own HTTP API: ``create_app(engine, users)`` -> FastAPI.

Served by the service on ``api_host``/``api_port`` (default 8081); the gateway's trading
endpoints (``/api/v1/orders`` ...) forward here with the caller's key. Every route needs
``Authorization: Bearer <key>``, checked against the same users as the gateway's with
the same rules (:func:`quant.users.access.authorize`): 401 for a missing or bad key, 403
for a disabled user or a role too low (``viewer`` reads, ``trader`` writes), 503 when the
user store does not answer; each refusal counted in
``quant_execution_auth_failures_total{reason}``.

- ``GET /v1/orders?limit=100``, ``GET /v1/trades?limit=50`` (newest first),
  ``GET /v1/positions``, ``GET /v1/pnl``: the JSON of :mod:`quant.execution.views`;
- ``POST /v1/orders`` ``{"instrument_key", "side", "quantity", "order_type", "product",
  "price", "trigger_price", "validity", "strategy"}`` (prices as rupee strings; the last
  four optional, strategy ``manual``): the intent goes through ``engine.submit``, the same
  risk path as a strategy's; 201 ``{"client_order_id", "orders"}``, or 422
  ``{"detail": {"code", "message"}}`` when refused (a reason code of
  :class:`~quant.trading.risk_limits.RejectReason`); a malformed body is 422 in the
  validation shape ``{"detail": [{"loc", "msg", "type"}]}`` (the rejected input is never
  echoed back);
- ``DELETE /v1/orders/{client_order_id}``: 200 the order, 404 unknown, 409 not
  cancellable (final, or a cancel already pending);
- ``PATCH /v1/orders/{client_order_id}`` ``{"quantity"?, "price"?, "trigger_price"?,
  "order_type"?, "validity"?}`` (at least one): ``engine.modify``; 200 the order (now
  MODIFY_PENDING, or working again with the new values), 404 unknown, 409 not
  modifiable (final, not yet acknowledged, or a modify or cancel pending), 422
  ``{"detail": {"code", "message"}}`` when the amended order breaks a rule;
- ``POST /v1/killswitch`` ``{"action": "halt"|"flatten"|"resume", "strategy"?}``: 200 the
  trading states after it (``engine.request_kill``: applied, then published on
  ``control.commands``).

Until the engine has recovered (``engine.ready``) every route answers 503 with
``Retry-After``: before that its books are not the truth, and a kill switch applied to
an empty book would cancel nothing. Who placed a manual order, cancelled one or used the
kill switch is logged (the user name, never the key); a manual order's ``tag`` is
``api:<user>``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from quant.bus.errors import BusError
from quant.core.clock import Clock, SystemClock
from quant.core.money import decimal_to_paise
from quant.core.orders import OrderType, Side
from quant.execution import views
from quant.execution.engine import (
    EngineNotReady,
    ExecutionEngine,
    ModifyRefused,
    NotModifiable,
    UnknownOrder,
)
from quant.store.ports import StoreError
from quant.trading.broker import BrokerError
from quant.trading.errors import InvalidIntent, TradingError
from quant.trading.intent import Amendment, IntentMessage, OrderIntent, Product, Validity
from quant.users import access
from quant.users.access import UNAVAILABLE, Denial, KeyVerifier
from quant.users.directory import Caller
from quant.users.roles import Role

log = logging.getLogger(__name__)

AUTH_FAILURES = "quant_execution_auth_failures_total"
MAX_LIMIT = 1000
MAX_MESSAGE = 200
MANUAL = "manual"
UNPARSABLE_BODY = "There was an error parsing the body"  # FastAPI's 400: not UTF-8
RETRY = {"Retry-After": "5"}
PRICE_PATTERN = r"^[0-9]{1,9}(\.[0-9]{1,2})?$"
STRATEGY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
INSTRUMENT_KEY_PATTERN = r"^[A-Z_]+\|[^|\s]{1,64}$"
CLIENT_ORDER_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
_ORDER_TYPES = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "SL": OrderType.SL,
    "SL-M": OrderType.SL_M,
}


def auth_failures_counter(registry: CollectorRegistry | None) -> Counter:
    """``quant_execution_auth_failures_total{reason}`` in ``registry``; make it once per
    process (the app is rebuilt on each run of the service) and pass it to
    :func:`create_app`."""
    return access.failures_counter(AUTH_FAILURES, registry)


class OrderIn(BaseModel):
    """A manual order (prices in rupees, as decimal strings)."""

    model_config = ConfigDict(extra="forbid")

    instrument_key: str = Field(pattern=INSTRUMENT_KEY_PATTERN)
    side: Literal["BUY", "SELL"]
    quantity: int = Field(gt=0, le=100_000_000)
    order_type: Literal["MARKET", "LIMIT", "SL", "SL-M"]
    product: Literal["I", "D"]
    price: str | None = Field(default=None, pattern=PRICE_PATTERN)
    trigger_price: str | None = Field(default=None, pattern=PRICE_PATTERN)
    validity: Literal["DAY", "IOC"] = "DAY"
    strategy: str = Field(default=MANUAL, pattern=STRATEGY_PATTERN)

    def intent(self, tag: str) -> OrderIntent:
        """The domain's intent; :class:`InvalidIntent` for a price rule broken."""
        return OrderIntent(
            strategy=self.strategy,
            instrument_key=self.instrument_key,
            side=Side[self.side],
            quantity=self.quantity,
            order_type=_ORDER_TYPES[self.order_type],
            product=Product(self.product),
            price=decimal_to_paise(self.price) if self.price else 0,
            trigger_price=decimal_to_paise(self.trigger_price) if self.trigger_price else 0,
            validity=Validity(self.validity),
            tag=tag[:64],
        )


class AmendmentIn(BaseModel):
    """A modification of a working order: the fields to change (prices in rupees)."""

    model_config = ConfigDict(extra="forbid")

    quantity: int | None = Field(default=None, gt=0, le=100_000_000)
    price: str | None = Field(default=None, pattern=PRICE_PATTERN)
    trigger_price: str | None = Field(default=None, pattern=PRICE_PATTERN)
    order_type: Literal["MARKET", "LIMIT", "SL", "SL-M"] | None = None
    validity: Literal["DAY", "IOC"] | None = None

    def amendment(self) -> Amendment:
        return Amendment(
            quantity=self.quantity,
            price=decimal_to_paise(self.price) if self.price is not None else None,
            trigger_price=(
                decimal_to_paise(self.trigger_price) if self.trigger_price is not None else None
            ),
            order_type=_ORDER_TYPES[self.order_type] if self.order_type else None,
            validity=Validity(self.validity) if self.validity else None,
        )


class KillSwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["halt", "flatten", "resume"]
    strategy: str | None = Field(default=None, pattern=STRATEGY_PATTERN)


@dataclass
class _Context:
    engine: ExecutionEngine
    users: KeyVerifier | None
    clock: Clock
    failures: Counter
    limiter: anyio.CapacityLimiter


_bearer = HTTPBearer(scheme_name="bearer", bearerFormat="qk_<key_id>_<secret>", auto_error=False)


def _context(request: Request) -> _Context:
    context: _Context = request.app.state.context
    return context


def _require(role: Role) -> Any:
    async def caller_with_role(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        ctx = _context(request)
        verdict = await access.authorize(
            ctx.users,
            None if credentials is None else credentials.credentials,
            role,
            ctx.limiter,
            header_present="authorization" in request.headers,
        )
        if isinstance(verdict, Denial):
            ctx.failures.labels(reason=verdict.reason).inc()
            if verdict.reason == UNAVAILABLE:
                log.warning("API key not checked: %s", verdict.detail)
            raise HTTPException(verdict.status, verdict.detail, headers=verdict.headers or None)
        return verdict

    return Depends(caller_with_role)


def _ready_engine(request: Request) -> ExecutionEngine:
    engine = _context(request).engine
    if not engine.ready:
        raise _not_ready()
    return engine


def _not_ready() -> HTTPException:
    return HTTPException(
        503,
        "the execution service is still recovering its orders and positions; retry shortly",
        headers=RETRY,
    )


ViewerDep = Annotated[Caller, _require(Role.VIEWER)]
TraderDep = Annotated[Caller, _require(Role.TRADER)]
EngineDep = Annotated[ExecutionEngine, Depends(_ready_engine)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="at most this many, newest first")]


def _brief(error: Any) -> dict[str, Any]:
    loc = error.get("loc", ()) if isinstance(error, dict) else ()
    return {
        "loc": [str(part)[:MAX_MESSAGE] for part in loc],
        "msg": str(error.get("msg", ""))[:MAX_MESSAGE],
        "type": str(error.get("type", ""))[:MAX_MESSAGE],
    }


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 that says where and what, without echoing the rejected input."""
    assert isinstance(exc, RequestValidationError)
    del request
    return JSONResponse(status_code=422, content={"detail": [_brief(e) for e in exc.errors()]})


@contextlib.contextmanager
def _order_path(what: str) -> Iterator[None]:
    """503 for what a retry can cure: not recovered yet, the journal, the bus or the broker
    failing (the service's own loops see the failure too and restart the run)."""
    try:
        yield
    except EngineNotReady:
        raise _not_ready() from None
    except (StoreError, BusError, BrokerError) as e:
        log.error("%s failed: %s: %s", what, type(e).__name__, e)
        raise HTTPException(
            503,
            f"{what} failed ({type(e).__name__}: {str(e)[:MAX_MESSAGE]}); retry shortly",
            headers=RETRY,
        ) from None


async def _http_error(request: Request, exc: Exception) -> Response:
    """A body that is not even text: 422 like any malformed body, not FastAPI's 400."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == UNPARSABLE_BODY:
        issue = {"loc": ["body"], "msg": "the body is not JSON (UTF-8)", "type": "json_invalid"}
        return JSONResponse(status_code=422, content={"detail": [issue]})
    return await http_exception_handler(request, exc)


def _invalid_body(message: str) -> HTTPException:
    issue = {"loc": ["body"], "msg": message[:MAX_MESSAGE], "type": "value_error"}
    return HTTPException(422, [issue])


async def _modify(
    engine: ExecutionEngine, client_order_id: str, change: AmendmentIn, username: str
) -> Any:
    """``engine.modify``: the order's JSON, or the refusal as an HTTP answer (422 with the
    reason code)."""
    try:
        amendment = change.amendment()
        with _order_path("the modification"):
            order = await engine.modify(client_order_id, amendment)
    except UnknownOrder:
        raise HTTPException(404, f"no order {client_order_id!r}") from None
    except ModifyRefused as e:
        detail = {"code": str(e.rejected.reason), "message": e.rejected.message}
        return JSONResponse(status_code=422, content={"detail": detail})
    except NotModifiable as e:  # final, not acknowledged yet, a request pending
        raise HTTPException(409, str(e)[:MAX_MESSAGE]) from None
    except (TradingError, ValueError) as e:  # InvalidIntent: a bad amendment
        raise _invalid_body(str(e)) from None
    log.info("modification of %s asked by %s", client_order_id, username)
    return views.order_json(order, engine.order_info(client_order_id))


def create_app(
    engine: ExecutionEngine,
    users: KeyVerifier | None,
    *,
    clock: Clock | None = None,
    auth_failures: Counter | None = None,
) -> FastAPI:
    """The API over ``engine``; keys checked by ``users`` (None: every route answers 503).

    ``clock`` stamps manual intents (default the wall clock); ``auth_failures`` is the
    process's counter (:func:`auth_failures_counter`; default an unregistered one).
    """
    app = FastAPI(
        title="quant-platform execution",
        version="1",
        description="The execution service's API (the gateway's /api/v1 trading endpoints "
        "forward here). Authorization: Bearer <key>.",
        docs_url=None,
        redoc_url=None,
    )
    ctx = app.state.context = _Context(
        engine,
        users,
        clock or SystemClock(),
        auth_failures if auth_failures is not None else auth_failures_counter(None),
        access.new_limiter(),
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)

    @app.get("/v1/orders")
    async def orders(caller: ViewerDep, engine: EngineDep, limit: Limit = 100) -> Any:
        del caller
        return views.orders_json(engine, limit)

    @app.get("/v1/trades")
    async def trades(caller: ViewerDep, engine: EngineDep, limit: Limit = 50) -> Any:
        del caller
        return views.trades_json(engine, limit)

    @app.get("/v1/positions")
    async def positions(caller: ViewerDep, engine: EngineDep) -> Any:
        del caller
        return views.positions_json(engine)

    @app.get("/v1/pnl")
    async def pnl(caller: ViewerDep, engine: EngineDep) -> Any:
        del caller
        return views.pnl_json(engine)

    @app.post("/v1/orders", status_code=201)
    async def place(caller: TraderDep, engine: EngineDep, order: OrderIn) -> Any:
        try:
            intent = order.intent(tag=f"api:{caller.username}")
        except (InvalidIntent, ValueError) as e:
            raise _invalid_body(str(e)) from None
        try:
            with _order_path("the order"):
                submission = await engine.submit(IntentMessage(intent, 0, ctx.clock.now_ns()))
        except TradingError as e:
            raise _invalid_body(str(e)) from None
        if submission.rejected is not None:
            rejected = submission.rejected
            log.info(
                "manual order by %s refused: %s %s",
                caller.username,
                rejected.reason,
                rejected.message,
            )
            detail = {"code": str(rejected.reason), "message": rejected.message}
            return JSONResponse(status_code=422, content={"detail": detail})
        log.info(
            "manual order %s by %s: %s %d %s",
            submission.client_order_id,
            caller.username,
            order.side,
            order.quantity,
            order.instrument_key,
        )
        return {
            "client_order_id": submission.client_order_id,
            "orders": [
                views.order_json(o, engine.order_info(o.client_order_id)) for o in submission.orders
            ],
        }

    @app.delete("/v1/orders/{client_order_id}")
    async def cancel(
        caller: TraderDep,
        engine: EngineDep,
        client_order_id: Annotated[str, Path(pattern=CLIENT_ORDER_ID_PATTERN)],
    ) -> Any:
        try:
            with _order_path("the cancel"):
                order = await engine.cancel(client_order_id)
        except UnknownOrder:
            raise HTTPException(404, f"no order {client_order_id!r}") from None
        except TradingError as e:  # NotCancellable: final, or a cancel already pending
            raise HTTPException(409, str(e)[:MAX_MESSAGE]) from None
        log.info("cancel of %s asked by %s", client_order_id, caller.username)
        return views.order_json(order, engine.order_info(client_order_id))

    @app.patch("/v1/orders/{client_order_id}")
    async def modify(
        caller: TraderDep,
        engine: EngineDep,
        client_order_id: Annotated[str, Path(pattern=CLIENT_ORDER_ID_PATTERN)],
        change: AmendmentIn,
    ) -> Any:
        return await _modify(engine, client_order_id, change, caller.username)

    @app.post("/v1/killswitch")
    async def killswitch(caller: TraderDep, engine: EngineDep, command: KillSwitchIn) -> Any:
        who = f"strategy {command.strategy}" if command.strategy else "the account"
        log.warning("kill switch %s for %s by %s", command.action, who, caller.username)
        with _order_path("the kill switch"):
            try:
                states = await engine.request_kill(
                    command.action,
                    command.strategy or "",
                    reason=f"{command.action} by {caller.username} through the API",
                )
            except BusError as e:  # applied here (the engine does that first), not published
                log.error("kill switch not published on control.commands: %s", e)
                raise HTTPException(
                    503,
                    f"the {command.action} is in force in this process but could not be "
                    "published on control.commands, so a restart would not keep it; send it "
                    "again",
                    headers=RETRY,
                ) from None
        return views.state_json(states)

    return app
