"""The execution service's JSON contract: orders, trades, positions, P&L and trading states.

Plain ``dict``s, ready for ``json.dumps``; the execution HTTP API returns them and the
gateway passes them on unchanged. Money is a decimal string in rupees with two places
(``"1234.50"``, from integer paise, never a float); times are ISO-8601 UTC with ``Z``, or
``None``. Enum-valued fields use their names (``"BUY"``, ``"OPEN"``, ``"SL-M"``). See
``exec-spec.md`` ("JSON contract") for the field lists; ``trade.charges`` also carries
``dp`` (the depository charge of a delivery sell, part of ``total``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import TYPE_CHECKING, Any

from quant.core.clock import ns_to_datetime
from quant.core.money import paise_to_str
from quant.core.orders import OrderType
from quant.trading.charges import ChargeBreakdown
from quant.trading.order import Order
from quant.trading.positions import Position
from quant.trading.snapshot import DayPnl
from quant.trading.state import TradingStates

if TYPE_CHECKING:
    from quant.execution.engine import ExecutionEngine, OrderInfo, TradeRecord

_ORDER_TYPE = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.SL: "SL",
    OrderType.SL_M: "SL-M",
}


def money(paise: int) -> str:
    """Rupees with two decimals from integer paise (``123450`` -> ``"1234.50"``)."""
    return paise_to_str(paise)


def iso_time(ns: int | None) -> str | None:
    """ISO-8601 UTC with ``Z`` (microseconds), or ``None`` for no time (``None`` or 0)."""
    if not ns:
        return None
    return ns_to_datetime(ns, UTC).isoformat().replace("+00:00", "Z")


def order_json(order: Order, info: OrderInfo | None = None) -> dict[str, Any]:
    """One order (``info``: the engine's ``order_info``: reason, algo name, send time, mode)."""
    i = order.intent
    return {
        "client_order_id": order.client_order_id,
        "broker_order_id": order.broker_order_id,
        "strategy": i.strategy,
        "instrument_key": i.instrument_key,
        "side": i.side.name,
        "order_type": _ORDER_TYPE[i.order_type],
        "product": i.product.value,
        "validity": i.validity.value,
        "quantity": i.quantity,
        "filled_quantity": order.filled_quantity,
        "price": money(i.price),
        "trigger_price": money(i.trigger_price),
        "average_price": money(order.average_price),
        "status": order.status.name,
        "reason": info.reason if info else "",
        "message": order.message,
        "submitted_at": iso_time(info.submitted_at if info else None),
        "updated_at": iso_time(order.ts_event),
        "mode": info.mode if info else "",
        "algo_name": info.algo_name if info else "",
    }


def charges_json(charges: ChargeBreakdown) -> dict[str, str]:
    return {
        "brokerage": money(charges.brokerage),
        "stt": money(charges.stt),
        "exchange": money(charges.exchange),
        "sebi": money(charges.sebi),
        "stamp": money(charges.stamp),
        "gst": money(charges.gst),
        "ipft": money(charges.ipft),
        "dp": money(charges.dp),
        "total": money(charges.total),
    }


def trade_json(trade: TradeRecord) -> dict[str, Any]:
    """One fill with its charges."""
    f = trade.fill
    return {
        "client_order_id": f.client_order_id,
        "broker_order_id": trade.broker_order_id,
        "strategy": f.strategy,
        "instrument_key": f.instrument_key,
        "side": f.side.name,
        "product": f.product.value,
        "quantity": f.quantity,
        "price": money(f.price),
        "value": money(f.value),
        "charges": charges_json(trade.charges),
        "time": iso_time(f.ts_event),
    }


def position_json(position: Position, marks: Mapping[str, int]) -> dict[str, Any]:
    """One position; ``last_price`` is ``None`` and ``unrealised`` 0 without a mark."""
    k = position.key
    mark = marks.get(k.instrument_key)
    return {
        "strategy": k.strategy,
        "instrument_key": k.instrument_key,
        "product": k.product.value,
        "quantity": position.net_quantity,
        "average_price": money(position.average_price),
        "last_price": None if mark is None else money(mark),
        "realised": money(position.realised),
        "unrealised": money(position.unrealised(mark) if mark is not None else 0),
    }


def _pnl_json(pnl: DayPnl) -> dict[str, str]:
    return {
        "realised": money(pnl.realised),
        "unrealised": money(pnl.unrealised),
        "charges": money(pnl.charges),
        "net": money(pnl.net),
    }


def state_json(states: TradingStates) -> dict[str, Any]:
    """``{"account": "ACTIVE", "strategies": {name: "HALTED", ...}}`` (non-ACTIVE ones)."""
    return {
        "account": states.account.state.name,
        "strategies": {name: s.state.name for name, s in sorted(states.strategies.items())},
    }


def pnl_json(engine: ExecutionEngine) -> dict[str, Any]:
    """The account's P&L, each strategy's, and the trading states."""
    out: dict[str, Any] = dict(_pnl_json(engine.pnl()))
    out["strategies"] = {name: _pnl_json(engine.pnl(name)) for name in engine.strategies()}
    out["state"] = state_json(engine.states())
    return out


def orders_json(engine: ExecutionEngine, limit: int = 100) -> list[dict[str, Any]]:
    """The newest ``limit`` orders, newest first."""
    return [order_json(o, engine.order_info(o.client_order_id)) for o in engine.orders(limit)]


def trades_json(engine: ExecutionEngine, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` fills, newest first."""
    return [trade_json(t) for t in engine.trades(limit)]


def positions_json(engine: ExecutionEngine) -> list[dict[str, Any]]:
    """Every position held today (flat ones too: their realised P&L counts)."""
    marks = engine.marks()
    return [position_json(p, marks) for p in engine.positions()]
