from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FeedMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FEED_MODE_UNSPECIFIED: _ClassVar[FeedMode]
    FEED_MODE_LTPC: _ClassVar[FeedMode]
    FEED_MODE_FULL: _ClassVar[FeedMode]
    FEED_MODE_OPTION_GREEKS: _ClassVar[FeedMode]
    FEED_MODE_FULL_D30: _ClassVar[FeedMode]

class AggressorSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGGRESSOR_SIDE_UNSPECIFIED: _ClassVar[AggressorSide]
    AGGRESSOR_SIDE_BUY: _ClassVar[AggressorSide]
    AGGRESSOR_SIDE_SELL: _ClassVar[AggressorSide]
    AGGRESSOR_SIDE_NONE: _ClassVar[AggressorSide]
FEED_MODE_UNSPECIFIED: FeedMode
FEED_MODE_LTPC: FeedMode
FEED_MODE_FULL: FeedMode
FEED_MODE_OPTION_GREEKS: FeedMode
FEED_MODE_FULL_D30: FeedMode
AGGRESSOR_SIDE_UNSPECIFIED: AggressorSide
AGGRESSOR_SIDE_BUY: AggressorSide
AGGRESSOR_SIDE_SELL: AggressorSide
AGGRESSOR_SIDE_NONE: AggressorSide

class DepthLevel(_message.Message):
    __slots__ = ("bid_price_paise", "bid_quantity", "ask_price_paise", "ask_quantity")
    BID_PRICE_PAISE_FIELD_NUMBER: _ClassVar[int]
    BID_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ASK_PRICE_PAISE_FIELD_NUMBER: _ClassVar[int]
    ASK_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    bid_price_paise: int
    bid_quantity: int
    ask_price_paise: int
    ask_quantity: int
    def __init__(self, bid_price_paise: _Optional[int] = ..., bid_quantity: _Optional[int] = ..., ask_price_paise: _Optional[int] = ..., ask_quantity: _Optional[int] = ...) -> None: ...

class FeedOhlc(_message.Message):
    __slots__ = ("interval", "open_paise", "high_paise", "low_paise", "close_paise", "volume", "ts_ns")
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    OPEN_PAISE_FIELD_NUMBER: _ClassVar[int]
    HIGH_PAISE_FIELD_NUMBER: _ClassVar[int]
    LOW_PAISE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_PAISE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    TS_NS_FIELD_NUMBER: _ClassVar[int]
    interval: str
    open_paise: int
    high_paise: int
    low_paise: int
    close_paise: int
    volume: int
    ts_ns: int
    def __init__(self, interval: _Optional[str] = ..., open_paise: _Optional[int] = ..., high_paise: _Optional[int] = ..., low_paise: _Optional[int] = ..., close_paise: _Optional[int] = ..., volume: _Optional[int] = ..., ts_ns: _Optional[int] = ...) -> None: ...

class Tick(_message.Message):
    __slots__ = ("instrument_key", "mode", "ts_event", "ts_init", "ltp_paise", "ltt_ns", "ltq", "close_price_paise", "volume_traded_today", "atp_paise", "oi", "total_buy_quantity", "total_sell_quantity", "depth", "ohlc")
    INSTRUMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_FIELD_NUMBER: _ClassVar[int]
    TS_INIT_FIELD_NUMBER: _ClassVar[int]
    LTP_PAISE_FIELD_NUMBER: _ClassVar[int]
    LTT_NS_FIELD_NUMBER: _ClassVar[int]
    LTQ_FIELD_NUMBER: _ClassVar[int]
    CLOSE_PRICE_PAISE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_TRADED_TODAY_FIELD_NUMBER: _ClassVar[int]
    ATP_PAISE_FIELD_NUMBER: _ClassVar[int]
    OI_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BUY_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SELL_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    OHLC_FIELD_NUMBER: _ClassVar[int]
    instrument_key: str
    mode: FeedMode
    ts_event: int
    ts_init: int
    ltp_paise: int
    ltt_ns: int
    ltq: int
    close_price_paise: int
    volume_traded_today: int
    atp_paise: int
    oi: int
    total_buy_quantity: int
    total_sell_quantity: int
    depth: _containers.RepeatedCompositeFieldContainer[DepthLevel]
    ohlc: _containers.RepeatedCompositeFieldContainer[FeedOhlc]
    def __init__(self, instrument_key: _Optional[str] = ..., mode: _Optional[_Union[FeedMode, str]] = ..., ts_event: _Optional[int] = ..., ts_init: _Optional[int] = ..., ltp_paise: _Optional[int] = ..., ltt_ns: _Optional[int] = ..., ltq: _Optional[int] = ..., close_price_paise: _Optional[int] = ..., volume_traded_today: _Optional[int] = ..., atp_paise: _Optional[int] = ..., oi: _Optional[int] = ..., total_buy_quantity: _Optional[int] = ..., total_sell_quantity: _Optional[int] = ..., depth: _Optional[_Iterable[_Union[DepthLevel, _Mapping]]] = ..., ohlc: _Optional[_Iterable[_Union[FeedOhlc, _Mapping]]] = ...) -> None: ...

class OptionGreeks(_message.Message):
    __slots__ = ("instrument_key", "ts_event", "ts_init", "ltp_paise", "iv", "delta", "gamma", "theta", "vega", "rho", "oi", "volume_traded_today")
    INSTRUMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_FIELD_NUMBER: _ClassVar[int]
    TS_INIT_FIELD_NUMBER: _ClassVar[int]
    LTP_PAISE_FIELD_NUMBER: _ClassVar[int]
    IV_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    GAMMA_FIELD_NUMBER: _ClassVar[int]
    THETA_FIELD_NUMBER: _ClassVar[int]
    VEGA_FIELD_NUMBER: _ClassVar[int]
    RHO_FIELD_NUMBER: _ClassVar[int]
    OI_FIELD_NUMBER: _ClassVar[int]
    VOLUME_TRADED_TODAY_FIELD_NUMBER: _ClassVar[int]
    instrument_key: str
    ts_event: int
    ts_init: int
    ltp_paise: int
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float
    oi: int
    volume_traded_today: int
    def __init__(self, instrument_key: _Optional[str] = ..., ts_event: _Optional[int] = ..., ts_init: _Optional[int] = ..., ltp_paise: _Optional[int] = ..., iv: _Optional[float] = ..., delta: _Optional[float] = ..., gamma: _Optional[float] = ..., theta: _Optional[float] = ..., vega: _Optional[float] = ..., rho: _Optional[float] = ..., oi: _Optional[int] = ..., volume_traded_today: _Optional[int] = ...) -> None: ...

class EnrichedTick(_message.Message):
    __slots__ = ("instrument_key", "ts_event", "ts_init", "ltp_paise", "volume_traded_today", "session_vwap", "rolling_vwap", "imbalance_l1", "imbalance_d5", "imbalance_d30", "spread_paise", "spread_bps", "microprice", "aggressor", "trade_quantity", "buy_volume", "sell_volume", "trade_intensity", "ts_enriched", "iv", "delta", "gamma", "theta", "vega")
    INSTRUMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_FIELD_NUMBER: _ClassVar[int]
    TS_INIT_FIELD_NUMBER: _ClassVar[int]
    LTP_PAISE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_TRADED_TODAY_FIELD_NUMBER: _ClassVar[int]
    SESSION_VWAP_FIELD_NUMBER: _ClassVar[int]
    ROLLING_VWAP_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_L1_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_D5_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_D30_FIELD_NUMBER: _ClassVar[int]
    SPREAD_PAISE_FIELD_NUMBER: _ClassVar[int]
    SPREAD_BPS_FIELD_NUMBER: _ClassVar[int]
    MICROPRICE_FIELD_NUMBER: _ClassVar[int]
    AGGRESSOR_FIELD_NUMBER: _ClassVar[int]
    TRADE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    BUY_VOLUME_FIELD_NUMBER: _ClassVar[int]
    SELL_VOLUME_FIELD_NUMBER: _ClassVar[int]
    TRADE_INTENSITY_FIELD_NUMBER: _ClassVar[int]
    TS_ENRICHED_FIELD_NUMBER: _ClassVar[int]
    IV_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    GAMMA_FIELD_NUMBER: _ClassVar[int]
    THETA_FIELD_NUMBER: _ClassVar[int]
    VEGA_FIELD_NUMBER: _ClassVar[int]
    instrument_key: str
    ts_event: int
    ts_init: int
    ltp_paise: int
    volume_traded_today: int
    session_vwap: float
    rolling_vwap: float
    imbalance_l1: float
    imbalance_d5: float
    imbalance_d30: float
    spread_paise: int
    spread_bps: float
    microprice: float
    aggressor: AggressorSide
    trade_quantity: int
    buy_volume: int
    sell_volume: int
    trade_intensity: float
    ts_enriched: int
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float
    def __init__(self, instrument_key: _Optional[str] = ..., ts_event: _Optional[int] = ..., ts_init: _Optional[int] = ..., ltp_paise: _Optional[int] = ..., volume_traded_today: _Optional[int] = ..., session_vwap: _Optional[float] = ..., rolling_vwap: _Optional[float] = ..., imbalance_l1: _Optional[float] = ..., imbalance_d5: _Optional[float] = ..., imbalance_d30: _Optional[float] = ..., spread_paise: _Optional[int] = ..., spread_bps: _Optional[float] = ..., microprice: _Optional[float] = ..., aggressor: _Optional[_Union[AggressorSide, str]] = ..., trade_quantity: _Optional[int] = ..., buy_volume: _Optional[int] = ..., sell_volume: _Optional[int] = ..., trade_intensity: _Optional[float] = ..., ts_enriched: _Optional[int] = ..., iv: _Optional[float] = ..., delta: _Optional[float] = ..., gamma: _Optional[float] = ..., theta: _Optional[float] = ..., vega: _Optional[float] = ...) -> None: ...

class Candle(_message.Message):
    __slots__ = ("instrument_key", "interval_seconds", "ts_start", "open_paise", "high_paise", "low_paise", "close_paise", "volume", "oi", "trade_count")
    INSTRUMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TS_START_FIELD_NUMBER: _ClassVar[int]
    OPEN_PAISE_FIELD_NUMBER: _ClassVar[int]
    HIGH_PAISE_FIELD_NUMBER: _ClassVar[int]
    LOW_PAISE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_PAISE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    OI_FIELD_NUMBER: _ClassVar[int]
    TRADE_COUNT_FIELD_NUMBER: _ClassVar[int]
    instrument_key: str
    interval_seconds: int
    ts_start: int
    open_paise: int
    high_paise: int
    low_paise: int
    close_paise: int
    volume: int
    oi: int
    trade_count: int
    def __init__(self, instrument_key: _Optional[str] = ..., interval_seconds: _Optional[int] = ..., ts_start: _Optional[int] = ..., open_paise: _Optional[int] = ..., high_paise: _Optional[int] = ..., low_paise: _Optional[int] = ..., close_paise: _Optional[int] = ..., volume: _Optional[int] = ..., oi: _Optional[int] = ..., trade_count: _Optional[int] = ...) -> None: ...
