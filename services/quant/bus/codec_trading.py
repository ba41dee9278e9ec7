"""Trading and control events <-> protobuf bytes: ScannerSuggestion, OrderIntent,
OrderEvent, control.

``orders.intents`` carries two commands in one message type (``OrderIntent``): an order to
place (``IntentMessage``) or, with ``cancel_client_order_id`` set, a ``CancelRequest``.
``decode_command`` returns either; ``decode_intent`` only the first (a cancel is a
``CodecError`` there), so every intent written before cancels existed still decodes.

Use them through ``quant.bus.codecs``.
"""

from __future__ import annotations

import re

from google.protobuf.message import DecodeError

from quant.bus.codec_base import CodecError, enum_table, member
from quant.core.control import ControlEvent, KillSwitch, SubscriptionAction, SubscriptionRequest
from quant.core.events import FeedMode, ScannerSuggestion
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.pb.control.v1 import control_pb2
from quant.pb.trading.v1 import trading_pb2
from quant.trading.errors import InvalidIntent
from quant.trading.intent import IntentMessage, OrderIntent, Product, Validity
from quant.trading.strategy.commands import CancelRequest

_PbSuggestion = trading_pb2.ScannerSuggestion
_PbSignal = trading_pb2.SignalValue
_PbOrder = trading_pb2.OrderEvent
_PbIntent = trading_pb2.OrderIntent
_PbControl = control_pb2.ControlEvent
_PbSubscription = control_pb2.SubscriptionRequest
_PbKill = control_pb2.KillSwitch

#: a strategy name (as ``OrderIntent`` accepts it) and a client order id (children included)
_STRATEGY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CLIENT_ORDER_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")

_SIDES: tuple[Side, ...] = enum_table(Side)
_ORDER_TYPES: tuple[OrderType, ...] = enum_table(OrderType)
_STATUSES: tuple[OrderStatus, ...] = enum_table(OrderStatus)
_ACTIONS: tuple[SubscriptionAction, ...] = enum_table(SubscriptionAction)


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
        signals=[_PbSignal(name=name, value=value) for name, value in s.signals],
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
        tuple((v.name, v.value) for v in m.signals),
    )


# --- OrderIntent ---------------------------------------------------------------------


def encode_intent(m: IntentMessage) -> bytes:
    i = m.intent
    return _PbIntent(
        strategy=i.strategy,
        instrument_key=i.instrument_key,
        side=i.side,  # type: ignore[arg-type]  # IntEnum is the wire int
        quantity=i.quantity,
        order_type=i.order_type,  # type: ignore[arg-type]  # IntEnum is the wire int
        product=i.product.value,
        price_paise=i.price,
        trigger_price_paise=i.trigger_price,
        validity=i.validity.value,
        tag=i.tag,
        sequence=m.sequence,
        ts_event=m.ts_event,
    ).SerializeToString()


def encode_cancel(c: CancelRequest) -> bytes:
    """A cancel request as an ``orders.intents`` message."""
    return _PbIntent(
        strategy=c.strategy, cancel_client_order_id=c.client_order_id, ts_event=c.ts_event
    ).SerializeToString()


def encode_command(command: IntentMessage | CancelRequest) -> bytes:
    """An intent or a cancel request as an ``orders.intents`` message."""
    if isinstance(command, CancelRequest):
        return encode_cancel(command)
    return encode_intent(command)


def decode_intent(data: bytes) -> IntentMessage:
    """Bytes -> a validated intent; ``CodecError`` says what is wrong with a bad one (a
    cancel request included: read ``orders.intents`` with ``decode_command``)."""
    command = decode_command(data)
    if isinstance(command, CancelRequest):
        raise CodecError(
            f"a cancel request of {command.client_order_id!r}, not an OrderIntent "
            "(decode orders.intents with decode_command)"
        )
    return command


def decode_command(data: bytes) -> IntentMessage | CancelRequest:
    """Bytes of ``orders.intents`` -> a validated intent or cancel request; ``CodecError``
    says what is wrong with a bad one."""
    try:
        m = _PbIntent.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable OrderIntent: {e}") from e
    if m.cancel_client_order_id:
        return _cancel(m)
    try:
        intent = OrderIntent(
            strategy=m.strategy,
            instrument_key=m.instrument_key,
            side=member(_SIDES, m.side, "order side"),
            quantity=m.quantity,
            order_type=member(_ORDER_TYPES, m.order_type, "order type"),
            product=Product(m.product),
            price=m.price_paise,
            trigger_price=m.trigger_price_paise,
            validity=Validity(m.validity or Validity.DAY.value),
            tag=m.tag,
        )
    except (InvalidIntent, ValueError) as e:
        raise CodecError(f"invalid OrderIntent: {e}") from e
    if m.sequence < 0:
        raise CodecError(f"invalid OrderIntent: sequence {m.sequence} is negative")
    return IntentMessage(intent, m.sequence, m.ts_event)


def _cancel(m: trading_pb2.OrderIntent) -> CancelRequest:
    cid = m.cancel_client_order_id
    if not _STRATEGY.fullmatch(m.strategy):
        raise CodecError(
            f"invalid cancel request of {cid!r}: strategy {m.strategy!r} is not a name"
        )
    if not _CLIENT_ORDER_ID.fullmatch(cid):
        raise CodecError(f"invalid cancel request: {cid!r} is not a client order id")
    if m.instrument_key or m.quantity or m.sequence:
        raise CodecError(
            f"invalid cancel request of {cid!r}: it also carries an order "
            f"({m.instrument_key!r}, quantity {m.quantity}, sequence {m.sequence})"
        )
    return CancelRequest(m.strategy, cid, m.ts_event)


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
        reason=o.reason,
        algo_name=o.algo_name,
    ).SerializeToString()


def decode_order(data: bytes) -> OrderEvent:
    try:
        m = _PbOrder.FromString(data)
    except DecodeError as e:
        raise CodecError(f"undecodable OrderEvent: {e}") from e
    return OrderEvent(
        client_order_id=m.client_order_id,
        instrument_key=m.instrument_key,
        side=member(_SIDES, m.side, "order side"),
        order_type=member(_ORDER_TYPES, m.order_type, "order type"),
        quantity=m.quantity,
        status=member(_STATUSES, m.status, "order status"),
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
        reason=m.reason,
        algo_name=m.algo_name,
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
                strategy=c.strategy,
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
                action=member(_ACTIONS, s.action, "subscription action"),
                instrument_keys=tuple(s.instrument_keys),
                mode=FeedMode.from_wire(s.mode),
                requested_by=s.requested_by,
                ts_event=s.ts_event,
            )
        if which == "kill_switch":
            k = m.kill_switch
            return KillSwitch(k.engaged, k.flatten, k.reason, k.trading_day, k.ts_event, k.strategy)
    except (DecodeError, ValueError) as e:
        raise CodecError(f"undecodable ControlEvent: {e}") from e
    raise CodecError("ControlEvent carries no payload")
