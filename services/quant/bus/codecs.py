"""Domain events <-> protobuf bytes for every message on the bus.

Producers call ``encode_*`` and consumers ``decode_*`` (or the ``Codec`` pairs, e.g.
``TICK_CODEC``, and ``CODEC_FOR_TOPIC`` keyed by topic name). These are hot paths: the
functions build the generated ``quant.pb`` messages directly with keyword arguments and
map enums through tuples, with no intermediate dicts. A malformed payload raises
``CodecError`` (chained to the protobuf error), never returns a half-filled event.
Domain enums are ``IntEnum``s whose values equal the wire values, so they are passed to
the generated constructors as they are (the stubs want the pb ``ValueType``: hence the
``type: ignore[arg-type]`` on those lines).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from google.protobuf.message import DecodeError

from quant.bus import topics
from quant.core.control import ControlEvent, KillSwitch, SubscriptionAction, SubscriptionRequest
from quant.core.events import (
    AggressorSide,
    Candle,
    DepthLevel,
    EnrichedTick,
    FeedMode,
    FeedOhlc,
    OptionGreeks,
    ScannerSuggestion,
    Tick,
)
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.pb.control.v1 import control_pb2
from quant.pb.marketdata.v1 import marketdata_pb2
from quant.pb.trading.v1 import trading_pb2

T = TypeVar("T")
_new = tuple.__new__

_PbTick = marketdata_pb2.Tick
_PbDepth = marketdata_pb2.DepthLevel
_PbOhlc = marketdata_pb2.FeedOhlc
_PbGreeks = marketdata_pb2.OptionGreeks
_PbEnriched = marketdata_pb2.EnrichedTick
_PbCandle = marketdata_pb2.Candle
_PbSuggestion = trading_pb2.ScannerSuggestion
_PbOrder = trading_pb2.OrderEvent
_PbControl = control_pb2.ControlEvent
_PbSubscription = control_pb2.SubscriptionRequest
_PbKill = control_pb2.KillSwitch


class CodecError(ValueError):
    """A payload could not be decoded into a domain event (bad bytes or enum value)."""


def _enum_table(enum: Any) -> tuple[Any, ...]:
    """Index = wire value, item = enum member (``None`` for 0/unspecified and gaps)."""
    size = max(int(m) for m in enum) + 1
    table: list[Any] = [None] * size
    for member in enum:
        table[int(member)] = member
    return tuple(table)


_MODES: tuple[FeedMode, ...] = _enum_table(FeedMode)
_AGGRESSORS: tuple[AggressorSide, ...] = _enum_table(AggressorSide)
_SIDES: tuple[Side, ...] = _enum_table(Side)
_ORDER_TYPES: tuple[OrderType, ...] = _enum_table(OrderType)
_STATUSES: tuple[OrderStatus, ...] = _enum_table(OrderStatus)
_ACTIONS: tuple[SubscriptionAction, ...] = _enum_table(SubscriptionAction)


def _member(table: tuple[T, ...], value: int, what: str) -> T:
    member = table[value] if 0 <= value < len(table) else None
    if member is None:
        raise CodecError(f"invalid {what} {value} on the wire")
    return member


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """An encode/decode pair for one event type."""

    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


# --- Tick -------------------------------------------------------------------------------


def encode_tick(t: Tick) -> bytes:
    # attribute assignment is ~30% cheaper than constructor keywords on upb messages
    key, mode, ts_event, ts_init, ltp, ltt, ltq, close, volume, atp, oi, tbq, tsq, depth, ohlc = t
    m = _PbTick()
    m.instrument_key = key
    m.mode = mode  # type: ignore[assignment]  # IntEnum is the wire int
    m.ts_event = ts_event
    m.ts_init = ts_init
    m.ltp_paise = ltp
    m.ltt_ns = ltt
    m.ltq = ltq
    m.close_price_paise = close
    m.volume_traded_today = volume
    m.atp_paise = atp
    m.oi = oi
    m.total_buy_quantity = tbq
    m.total_sell_quantity = tsq
    if depth:
        add = m.depth.add
        for bid_price, bid_qty, ask_price, ask_qty in depth:
            level = add()
            level.bid_price_paise = bid_price
            level.bid_quantity = bid_qty
            level.ask_price_paise = ask_price
            level.ask_quantity = ask_qty
    if ohlc:
        add_bar = m.ohlc.add
        for interval, open_, high, low, close_, bar_volume, ts_ns in ohlc:
            bar = add_bar()
            bar.interval = interval
            bar.open_paise = open_
            bar.high_paise = high
            bar.low_paise = low
            bar.close_paise = close_
            bar.volume = bar_volume
            bar.ts_ns = ts_ns
    return m.SerializeToString()


def decode_tick(data: bytes) -> Tick:
    try:
        m = _PbTick.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable Tick: {e}") from e
    mode = m.mode
    depth = m.depth
    ohlc = m.ohlc
    # tuple.__new__ skips the NamedTuples' Python-level __new__: a third of the cost here
    return _new(
        Tick,
        (
            m.instrument_key,
            _MODES[mode] if 0 < mode < len(_MODES) else _member(_MODES, mode, "feed mode"),
            m.ts_event,
            m.ts_init,
            m.ltp_paise,
            m.ltt_ns,
            m.ltq,
            m.close_price_paise,
            m.volume_traded_today,
            m.atp_paise,
            m.oi,
            m.total_buy_quantity,
            m.total_sell_quantity,
            tuple(
                [
                    _new(
                        DepthLevel,
                        (d.bid_price_paise, d.bid_quantity, d.ask_price_paise, d.ask_quantity),
                    )
                    for d in depth
                ]
            )
            if depth
            else (),
            tuple(
                [
                    _new(
                        FeedOhlc,
                        (
                            o.interval,
                            o.open_paise,
                            o.high_paise,
                            o.low_paise,
                            o.close_paise,
                            o.volume,
                            o.ts_ns,
                        ),
                    )
                    for o in ohlc
                ]
            )
            if ohlc
            else (),
        ),
    )


# --- OptionGreeks ----------------------------------------------------------------------


def encode_greeks(g: OptionGreeks) -> bytes:
    return _PbGreeks(
        instrument_key=g.instrument_key,
        ts_event=g.ts_event,
        ts_init=g.ts_init,
        ltp_paise=g.ltp,
        iv=g.iv,
        delta=g.delta,
        gamma=g.gamma,
        theta=g.theta,
        vega=g.vega,
        rho=g.rho,
        oi=g.oi,
        volume_traded_today=g.volume,
    ).SerializeToString()


def decode_greeks(data: bytes) -> OptionGreeks:
    try:
        m = _PbGreeks.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable OptionGreeks: {e}") from e
    return OptionGreeks(
        m.instrument_key,
        m.ts_event,
        m.ts_init,
        m.ltp_paise,
        m.iv,
        m.delta,
        m.gamma,
        m.theta,
        m.vega,
        m.rho,
        m.oi,
        m.volume_traded_today,
    )


# --- EnrichedTick ----------------------------------------------------------------------


def encode_enriched(e: EnrichedTick) -> bytes:
    return _PbEnriched(
        instrument_key=e.instrument_key,
        ts_event=e.ts_event,
        ts_init=e.ts_init,
        ltp_paise=e.ltp,
        volume_traded_today=e.volume,
        session_vwap=e.session_vwap,
        rolling_vwap=e.rolling_vwap,
        imbalance_l1=e.imbalance_l1,
        imbalance_d5=e.imbalance_d5,
        imbalance_d30=e.imbalance_d30,
        spread_paise=e.spread,
        spread_bps=e.spread_bps,
        microprice=e.microprice,
        aggressor=e.aggressor,  # type: ignore[arg-type]  # IntEnum is the wire int
        trade_quantity=e.trade_quantity,
        buy_volume=e.buy_volume,
        sell_volume=e.sell_volume,
        trade_intensity=e.trade_intensity,
        ts_enriched=e.ts_enriched,
        iv=e.iv,
        delta=e.delta,
        gamma=e.gamma,
        theta=e.theta,
        vega=e.vega,
    ).SerializeToString()


def decode_enriched(data: bytes) -> EnrichedTick:
    try:
        m = _PbEnriched.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable EnrichedTick: {e}") from e
    return EnrichedTick(
        m.instrument_key,
        m.ts_event,
        m.ts_init,
        m.ltp_paise,
        m.volume_traded_today,
        m.session_vwap,
        m.rolling_vwap,
        m.imbalance_l1,
        m.imbalance_d5,
        m.imbalance_d30,
        m.spread_paise,
        m.spread_bps,
        m.microprice,
        _member(_AGGRESSORS, m.aggressor, "aggressor side"),
        m.trade_quantity,
        m.buy_volume,
        m.sell_volume,
        m.trade_intensity,
        m.ts_enriched,
        m.iv,
        m.delta,
        m.gamma,
        m.theta,
        m.vega,
    )


# --- Candle ----------------------------------------------------------------------------


def encode_candle(c: Candle) -> bytes:
    return _PbCandle(
        instrument_key=c.instrument_key,
        interval_seconds=c.interval_seconds,
        ts_start=c.ts_start,
        open_paise=c.open,
        high_paise=c.high,
        low_paise=c.low,
        close_paise=c.close,
        volume=c.volume,
        oi=c.oi,
        trade_count=c.trade_count,
    ).SerializeToString()


def decode_candle(data: bytes) -> Candle:
    try:
        m = _PbCandle.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable Candle: {e}") from e
    return Candle(
        m.instrument_key,
        m.interval_seconds,
        m.ts_start,
        m.open_paise,
        m.high_paise,
        m.low_paise,
        m.close_paise,
        m.volume,
        m.oi,
        m.trade_count,
    )


# --- ScannerSuggestion -----------------------------------------------------------------


def encode_suggestion(s: ScannerSuggestion) -> bytes:
    return _PbSuggestion(
        instrument_key=s.instrument_key,
        trading_symbol=s.trading_symbol,
        ts_event=s.ts_event,
        rank=s.rank,
        score=s.score,
        reasons=s.reasons,
        last_price_paise=s.last_price,
        feed_mode=s.feed_mode.wire_name,
    ).SerializeToString()


def decode_suggestion(data: bytes) -> ScannerSuggestion:
    try:
        m = _PbSuggestion.FromString(data)
        mode = FeedMode.from_wire(m.feed_mode)
    except (DecodeError, ValueError) as e:
        raise CodecError(f"undecodable ScannerSuggestion: {e}") from e
    return ScannerSuggestion(
        m.instrument_key,
        m.trading_symbol,
        m.ts_event,
        m.rank,
        m.score,
        tuple(m.reasons),
        m.last_price_paise,
        mode,
    )


# --- OrderEvent ------------------------------------------------------------------------


def encode_order(o: OrderEvent) -> bytes:
    return _PbOrder(
        client_order_id=o.client_order_id,
        broker_order_id=o.broker_order_id,
        instrument_key=o.instrument_key,
        side=o.side,  # type: ignore[arg-type]  # IntEnum is the wire int
        order_type=o.order_type,  # type: ignore[arg-type]  # IntEnum is the wire int
        product=o.product,
        validity=o.validity,
        quantity=o.quantity,
        price_paise=o.price,
        trigger_price_paise=o.trigger_price,
        status=o.status,  # type: ignore[arg-type]  # IntEnum is the wire int
        filled_quantity=o.filled_quantity,
        filled_value_paise=o.filled_value,
        message=o.message,
        ts_event=o.ts_event,
        ts_init=o.ts_init,
        strategy=o.strategy,
        mode=o.mode,
    ).SerializeToString()


def decode_order(data: bytes) -> OrderEvent:
    try:
        m = _PbOrder.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable OrderEvent: {e}") from e
    return OrderEvent(
        client_order_id=m.client_order_id,
        instrument_key=m.instrument_key,
        side=_member(_SIDES, m.side, "order side"),
        order_type=_member(_ORDER_TYPES, m.order_type, "order type"),
        quantity=m.quantity,
        status=_member(_STATUSES, m.status, "order status"),
        ts_event=m.ts_event,
        ts_init=m.ts_init,
        broker_order_id=m.broker_order_id,
        product=m.product,
        validity=m.validity,
        price=m.price_paise,
        trigger_price=m.trigger_price_paise,
        filled_quantity=m.filled_quantity,
        filled_value=m.filled_value_paise,
        message=m.message,
        strategy=m.strategy,
        mode=m.mode,
    )


# --- ControlEvent ----------------------------------------------------------------------


def encode_control(c: ControlEvent) -> bytes:
    if isinstance(c, SubscriptionRequest):
        msg = _PbControl(
            subscription=_PbSubscription(
                action=c.action,  # type: ignore[arg-type]  # IntEnum is the wire int
                instrument_keys=c.instrument_keys,
                mode=c.mode.wire_name,
                requested_by=c.requested_by,
                ts_event=c.ts_event,
            )
        )
    else:
        msg = _PbControl(
            kill_switch=_PbKill(
                engaged=c.engaged,
                flatten=c.flatten,
                reason=c.reason,
                trading_day=c.trading_day,
                ts_event=c.ts_event,
            )
        )
    return msg.SerializeToString()


def decode_control(data: bytes) -> ControlEvent:
    try:
        m = _PbControl.FromString(data)
        which = m.WhichOneof("payload")
        if which == "subscription":
            s = m.subscription
            return SubscriptionRequest(
                action=_member(_ACTIONS, s.action, "subscription action"),
                instrument_keys=tuple(s.instrument_keys),
                mode=FeedMode.from_wire(s.mode),
                requested_by=s.requested_by,
                ts_event=s.ts_event,
            )
        if which == "kill_switch":
            k = m.kill_switch
            return KillSwitch(k.engaged, k.flatten, k.reason, k.trading_day, k.ts_event)
    except (DecodeError, ValueError) as e:
        raise CodecError(f"undecodable ControlEvent: {e}") from e
    raise CodecError("ControlEvent carries no payload")


TICK_CODEC: Codec[Tick] = Codec(encode_tick, decode_tick)
GREEKS_CODEC: Codec[OptionGreeks] = Codec(encode_greeks, decode_greeks)
ENRICHED_CODEC: Codec[EnrichedTick] = Codec(encode_enriched, decode_enriched)
CANDLE_CODEC: Codec[Candle] = Codec(encode_candle, decode_candle)
SUGGESTION_CODEC: Codec[ScannerSuggestion] = Codec(encode_suggestion, decode_suggestion)
ORDER_CODEC: Codec[OrderEvent] = Codec(encode_order, decode_order)
CONTROL_CODEC: Codec[ControlEvent] = Codec(encode_control, decode_control)

CODEC_FOR_TOPIC: Mapping[str, Codec[Any]] = MappingProxyType(
    {
        topics.TICKS.name: TICK_CODEC,
        topics.GREEKS.name: GREEKS_CODEC,
        topics.ENRICHED.name: ENRICHED_CODEC,
        topics.CANDLES.name: CANDLE_CODEC,
        topics.SUGGESTIONS.name: SUGGESTION_CODEC,
        topics.ORDERS.name: ORDER_CODEC,
        topics.CONTROL.name: CONTROL_CODEC,
    }
)
