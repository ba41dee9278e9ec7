"""The JSON bodies of the stream API's data messages (``/api/v1/stream``), one per channel.

Every data message is ``{"type": "data", "channel": C, "data": {...}}`` (:func:`envelope`);
``quotes`` carries the quote endpoint's body (:func:`~quant.gateway.schemas.render_quote`),
``candles`` the candles endpoint's bar plus its instrument, ``scanner`` the scanner
endpoint's cycle, ``orders`` the order fields of ``GET /api/v1/orders`` that an
``orders.events`` message holds. Money is a rupee string, times ISO-8601 (market data in
IST as in the REST API, order times in UTC with ``Z`` as the execution service's). Pure
functions of domain events; the hub (:mod:`quant.gateway.stream_hub`) serialises each
message once for all its subscribers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from quant.core.clock import ns_to_datetime
from quant.core.events import Candle, EnrichedTick, ScannerSuggestion
from quant.core.instruments import Instrument
from quant.core.money import paise_to_str
from quant.core.orders import OrderEvent, OrderType
from quant.gateway.routers.candles import CandleOut
from quant.gateway.routers.scanner import SuggestionOut
from quant.gateway.schemas import finite, iso_ist, rupees_from_float_paise

_ORDER_TYPE = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.SL: "SL",
    OrderType.SL_M: "SL-M",
}


def dumps(message: dict[str, Any]) -> str:
    """Compact JSON text of one message (NaN never appears: values go through finite())."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def envelope(channel: str, data: dict[str, Any]) -> str:
    return dumps({"type": "data", "channel": channel, "data": data})


def iso_utc(ns: int) -> str | None:
    if not ns:
        return None
    return ns_to_datetime(ns, UTC).isoformat().replace("+00:00", "Z")


def enriched_json(inst: Instrument, e: EnrichedTick) -> dict[str, Any]:
    """The feature engine's features of one enriched tick (prices in rupees)."""
    return {
        "instrument_key": inst.instrument_key,
        "trading_symbol": inst.trading_symbol,
        "last_price": paise_to_str(e.ltp),
        "volume": e.volume,
        "session_vwap": rupees_from_float_paise(e.session_vwap),
        "rolling_vwap": rupees_from_float_paise(e.rolling_vwap),
        "imbalance_l1": finite(e.imbalance_l1),
        "imbalance_d5": finite(e.imbalance_d5),
        "imbalance_d30": finite(e.imbalance_d30),
        "spread": paise_to_str(e.spread),
        "spread_bps": finite(e.spread_bps),
        "microprice": rupees_from_float_paise(e.microprice),
        "aggressor": e.aggressor.name,
        "trade_quantity": e.trade_quantity,
        "buy_volume": e.buy_volume,
        "sell_volume": e.sell_volume,
        "trade_intensity": finite(e.trade_intensity),
        "iv": finite(e.iv),
        "delta": finite(e.delta),
        "gamma": finite(e.gamma),
        "theta": finite(e.theta),
        "vega": finite(e.vega),
        "as_of": iso_ist(e.ts_event),
        "as_of_ns": e.ts_event,
    }


def candle_json(inst: Instrument, c: Candle) -> dict[str, Any]:
    """A closed candle: the candles endpoint's bar, with its instrument and interval."""
    return {
        "instrument_key": inst.instrument_key,
        "trading_symbol": inst.trading_symbol,
        "interval_seconds": c.interval_seconds,
        **CandleOut.of(c).model_dump(),
    }


def scanner_json(picks: Sequence[ScannerSuggestion]) -> dict[str, Any]:
    """One scanner cycle's picks, best first (the scanner endpoint's body)."""
    ordered = sorted(picks, key=lambda p: p.rank)
    return {
        "ts": iso_ist(ordered[0].ts_event) if ordered else None,
        "suggestions": [SuggestionOut.of(p).model_dump() for p in ordered],
    }


def order_json(e: OrderEvent) -> dict[str, Any]:
    """One order state change (the fields of ``GET /api/v1/orders`` the event holds)."""
    average = e.filled_value // e.filled_quantity if e.filled_quantity else 0
    return {
        "client_order_id": e.client_order_id,
        "broker_order_id": e.broker_order_id,
        "strategy": e.strategy,
        "instrument_key": e.instrument_key,
        "side": e.side.name,
        "order_type": _ORDER_TYPE[e.order_type],
        "product": e.product,
        "validity": e.validity,
        "quantity": e.quantity,
        "filled_quantity": e.filled_quantity,
        "price": paise_to_str(e.price),
        "trigger_price": paise_to_str(e.trigger_price),
        "average_price": paise_to_str(average),
        "status": e.status.name,
        "reason": e.reason,
        "message": e.message,
        "updated_at": iso_utc(e.ts_event),
        "mode": e.mode,
        "algo_name": e.algo_name,
    }


def fill_json(e: OrderEvent, quantity: int, value: int) -> dict[str, Any]:
    """A fill: ``quantity`` units worth ``value`` paise more of order ``e`` filled."""
    return {
        "client_order_id": e.client_order_id,
        "broker_order_id": e.broker_order_id,
        "strategy": e.strategy,
        "instrument_key": e.instrument_key,
        "side": e.side.name,
        "product": e.product,
        "quantity": quantity,
        "price": paise_to_str(value // quantity),
        "value": paise_to_str(value),
        "filled_quantity": e.filled_quantity,
        "status": e.status.name,
        "time": iso_utc(e.ts_event),
        "mode": e.mode,
    }
