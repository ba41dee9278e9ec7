"""``GET /v2/charges/brokerage``: the charges of one prospective order, from the platform's
tariff table (:func:`quant.trading.charges.charges_for_fill`, rendered by
:func:`quant.trading.charges.upstox_charges_payload`), so the official SDK's
``ChargeApi.get_brokerage`` works against the simulator.

Query parameters as Upstox's: ``instrument_token``, ``quantity`` (units), ``product``
(``I``/``D``), ``transaction_type`` (``BUY``/``SELL``), ``price`` (rupees; ``0`` = the
current LTP, the simulator's choice). Priced as a one-order, one-fill contract note on the
simulated clock's trading day. ``other_taxes`` and ``dp_plan`` are also sent as
``otherTaxes`` / ``dpPlan``: the SDK's model reads the camelCase keys, Upstox's documented
sample has the snake-case ones (which the real API sends is UNCONFIRMED).
Unsupported segments (indices) and products answer 400. Mounted by
:func:`quant.sim.app.create_app`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from quant.core.clock import IST, ns_to_datetime
from quant.core.instruments import InstrumentType
from quant.core.money import decimal_to_paise
from quant.core.orders import Side
from quant.sim.errors import bad_input
from quant.sim.master import Kind
from quant.sim.state import SimState
from quant.sim.web import authed, ok, sim_state
from quant.trading.charges import charges_for_fill, upstox_charges_payload

_TYPES = {
    Kind.EQ: InstrumentType.EQUITY,
    Kind.INDEX: InstrumentType.INDEX,
    Kind.FUT: InstrumentType.FUTURE,
    Kind.CE: InstrumentType.CALL,
    Kind.PE: InstrumentType.PUT,
}
_BSE_OPTION_CLASSES = ("SENSEX", "BANKEX", "SENSEX50")


def _rate_class(state: SimState, row: int) -> str:
    """BSE options are charged by underlying index (else STOCK); everything else: ""."""
    u = state.universe
    key = u.keys[row]
    if not key.startswith("BSE_FO|") or Kind(int(u.kind[row])) not in (Kind.CE, Kind.PE):
        return ""
    underlying = str(u.rows[int(u.underlying[row])]["trading_symbol"]).upper()
    return underlying if underlying in _BSE_OPTION_CLASSES else "STOCK"


def _rupees(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _rupees(v) for k, v in value.items()}
    return value


async def brokerage(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    q = request.query_params
    key = q.get("instrument_token") or ""
    row = state.universe.index_of.get(key)
    if row is None:
        raise bad_input("Invalid instrument_token", "instrument_token", key)
    try:
        quantity = int(q.get("quantity") or "")
    except ValueError:
        raise bad_input("quantity must be a whole number", "quantity", q.get("quantity")) from None
    side = {"BUY": Side.BUY, "SELL": Side.SELL}.get(q.get("transaction_type") or "")
    if side is None:
        raise bad_input(
            "transaction_type must be BUY or SELL", "transaction_type", q.get("transaction_type")
        )
    try:
        price = decimal_to_paise(Decimal(q.get("price") or ""))
    except (InvalidOperation, ValueError):
        raise bad_input(
            "price must be a rupee amount with at most two decimals", "price", q.get("price")
        ) from None
    if price == 0:
        price = int(state.market.ltp[row])
    trade_date = ns_to_datetime(state.market.now_ns(), IST).date()
    try:
        charges = charges_for_fill(
            key.split("|", 1)[0],
            _TYPES[Kind(int(state.universe.kind[row]))],
            q.get("product") or "",
            side,
            quantity,
            price,
            trade_date,
            rate_class=_rate_class(state, row),
        )
    except ValueError as exc:  # ChargesError, RateNotFoundError
        raise bad_input(str(exc)) from None
    payload = _rupees(upstox_charges_payload(charges))
    payload["otherTaxes"] = payload["other_taxes"]
    payload["dpPlan"] = payload["dp_plan"]
    return ok({"charges": payload})


ROUTES = [Route("/v2/charges/brokerage", brokerage)]
