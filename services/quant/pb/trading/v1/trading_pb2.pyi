from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_BUY: _ClassVar[Side]
    SIDE_SELL: _ClassVar[Side]

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TYPE_UNSPECIFIED: _ClassVar[OrderType]
    ORDER_TYPE_MARKET: _ClassVar[OrderType]
    ORDER_TYPE_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_SL: _ClassVar[OrderType]
    ORDER_TYPE_SL_M: _ClassVar[OrderType]

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_PENDING_NEW: _ClassVar[OrderStatus]
    ORDER_STATUS_OPEN: _ClassVar[OrderStatus]
    ORDER_STATUS_PARTIALLY_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_REJECTED: _ClassVar[OrderStatus]
    ORDER_STATUS_TRIGGER_PENDING: _ClassVar[OrderStatus]
    ORDER_STATUS_MODIFY_PENDING: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCEL_PENDING: _ClassVar[OrderStatus]
SIDE_UNSPECIFIED: Side
SIDE_BUY: Side
SIDE_SELL: Side
ORDER_TYPE_UNSPECIFIED: OrderType
ORDER_TYPE_MARKET: OrderType
ORDER_TYPE_LIMIT: OrderType
ORDER_TYPE_SL: OrderType
ORDER_TYPE_SL_M: OrderType
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_PENDING_NEW: OrderStatus
ORDER_STATUS_OPEN: OrderStatus
ORDER_STATUS_PARTIALLY_FILLED: OrderStatus
ORDER_STATUS_FILLED: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_REJECTED: OrderStatus
ORDER_STATUS_TRIGGER_PENDING: OrderStatus
ORDER_STATUS_MODIFY_PENDING: OrderStatus
ORDER_STATUS_CANCEL_PENDING: OrderStatus

class ScannerSuggestion(_message.Message):
    __slots__ = ("instrument_key", "trading_symbol", "ts_event", "rank", "score", "reasons", "last_price_paise", "feed_mode", "signals")
    INSTRUMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    TRADING_SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_PAISE_FIELD_NUMBER: _ClassVar[int]
    FEED_MODE_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    instrument_key: str
    trading_symbol: str
    ts_event: int
    rank: int
    score: float
    reasons: _containers.RepeatedScalarFieldContainer[str]
    last_price_paise: int
    feed_mode: str
    signals: _containers.RepeatedCompositeFieldContainer[SignalValue]
    def __init__(self, instrument_key: _Optional[str] = ..., trading_symbol: _Optional[str] = ..., ts_event: _Optional[int] = ..., rank: _Optional[int] = ..., score: _Optional[float] = ..., reasons: _Optional[_Iterable[str]] = ..., last_price_paise: _Optional[int] = ..., feed_mode: _Optional[str] = ..., signals: _Optional[_Iterable[_Union[SignalValue, _Mapping]]] = ...) -> None: ...

class SignalValue(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...

class OrderEvent(_message.Message):
    __slots__ = ("client_order_id", "broker_order_id", "instrument_key", "side", "order_type", "product", "validity", "quantity", "price_paise", "trigger_price_paise", "status", "filled_quantity", "filled_value_paise", "message", "ts_event", "ts_init", "strategy", "mode", "reason", "algo_name")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    VALIDITY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_PAISE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_PRICE_PAISE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILLED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    FILLED_VALUE_PAISE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_FIELD_NUMBER: _ClassVar[int]
    TS_INIT_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ALGO_NAME_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    broker_order_id: str
    instrument_key: str
    side: Side
    order_type: OrderType
    product: str
    validity: str
    quantity: int
    price_paise: int
    trigger_price_paise: int
    status: OrderStatus
    filled_quantity: int
    filled_value_paise: int
    message: str
    ts_event: int
    ts_init: int
    strategy: str
    mode: str
    reason: str
    algo_name: str
    def __init__(self, client_order_id: _Optional[str] = ..., broker_order_id: _Optional[str] = ..., instrument_key: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., product: _Optional[str] = ..., validity: _Optional[str] = ..., quantity: _Optional[int] = ..., price_paise: _Optional[int] = ..., trigger_price_paise: _Optional[int] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., filled_quantity: _Optional[int] = ..., filled_value_paise: _Optional[int] = ..., message: _Optional[str] = ..., ts_event: _Optional[int] = ..., ts_init: _Optional[int] = ..., strategy: _Optional[str] = ..., mode: _Optional[str] = ..., reason: _Optional[str] = ..., algo_name: _Optional[str] = ...) -> None: ...

class OrderIntent(_message.Message):
    __slots__ = ("strategy", "instrument_key", "side", "quantity", "order_type", "product", "price_paise", "trigger_price_paise", "validity", "tag", "sequence", "ts_event", "cancel_client_order_id")
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    PRICE_PAISE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_PRICE_PAISE_FIELD_NUMBER: _ClassVar[int]
    VALIDITY_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    strategy: str
    instrument_key: str
    side: Side
    quantity: int
    order_type: OrderType
    product: str
    price_paise: int
    trigger_price_paise: int
    validity: str
    tag: str
    sequence: int
    ts_event: int
    cancel_client_order_id: str
    def __init__(self, strategy: _Optional[str] = ..., instrument_key: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., quantity: _Optional[int] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., product: _Optional[str] = ..., price_paise: _Optional[int] = ..., trigger_price_paise: _Optional[int] = ..., validity: _Optional[str] = ..., tag: _Optional[str] = ..., sequence: _Optional[int] = ..., ts_event: _Optional[int] = ..., cancel_client_order_id: _Optional[str] = ...) -> None: ...
