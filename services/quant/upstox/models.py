"""Typed, immutable values the Upstox REST client takes and returns.

Built by :mod:`quant.upstox.rest_parsing` from Upstox JSON (parse at the edge) and used
by callers of :class:`quant.upstox.rest.UpstoxRestClient` (execution, backfill, gateway,
sync, doctor). Prices are integer paise, timestamps UTC ns; candles reuse the domain's
:class:`~quant.core.events.Candle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from quant.core.events import DepthLevel, FeedOhlc


class TransactionType(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"
    SL_M = "SL-M"


class Product(StrEnum):
    INTRADAY = "I"
    DELIVERY = "D"
    MTF = "MTF"


class Validity(StrEnum):
    DAY = "DAY"
    IOC = "IOC"


@dataclass(frozen=True, slots=True)
class Quote:
    """A full market quote for one instrument (``/v2/market-quote/quotes``)."""

    instrument_key: str
    symbol: str
    last_price: int
    volume: int
    average_price: int
    oi: int
    net_change: int
    total_buy_quantity: int
    total_sell_quantity: int
    lower_circuit: int
    upper_circuit: int
    last_trade_time_ns: int
    open: int
    high: int
    low: int
    close: int
    depth: tuple[DepthLevel, ...]
    #: when Upstox took the quote (its ``timestamp``), UTC ns; 0 when it sent none
    timestamp_ns: int = 0


@dataclass(frozen=True, slots=True)
class LastPrice:
    """An LTP V3 quote (``/v3/market-quote/ltp``)."""

    instrument_key: str
    last_price: int
    ltq: int
    volume: int
    close_price: int


@dataclass(frozen=True, slots=True)
class OhlcQuote:
    """An OHLC V3 quote (``/v3/market-quote/ohlc``): previous and live bar of ``interval``."""

    instrument_key: str
    last_price: int
    prev: FeedOhlc | None
    live: FeedOhlc | None


@dataclass(frozen=True, slots=True)
class GreeksQuote:
    """Option greeks V3 (``/v3/market-quote/option-greek``); ``iv`` as Upstox sends it."""

    instrument_key: str
    last_price: int
    ltq: int
    volume: int
    close_price: int
    oi: int
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float


@dataclass(frozen=True, slots=True)
class OptionLeg:
    """One side (call or put) of an option-chain strike."""

    instrument_key: str
    ltp: int
    volume: int
    oi: int
    close_price: int
    bid_price: int
    bid_quantity: int
    ask_price: int
    ask_quantity: int
    prev_oi: int
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float
    pop: float


@dataclass(frozen=True, slots=True)
class OptionChainRow:
    """One strike of an option chain (``/v2/option/chain``)."""

    expiry: date
    strike_paise: int
    underlying_key: str
    underlying_spot: int
    pcr: float
    call: OptionLeg | None
    put: OptionLeg | None


@dataclass(frozen=True, slots=True)
class Holiday:
    """A market holiday (``/v2/market/holidays``)."""

    date: date
    description: str
    holiday_type: str
    closed_exchanges: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UserProfile:
    """Who a token belongs to (``/v2/user/profile``); a cheap check that it is still valid."""

    user_id: str
    user_name: str


@dataclass(frozen=True, slots=True)
class ExchangeStatus:
    """Market status of one exchange (``/v2/market/status/{exchange}``)."""

    exchange: str
    status: str
    last_updated_ns: int


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A V3 order placement; ``price``/``trigger_price`` in paise (0 for MARKET)."""

    instrument_key: str
    quantity: int
    transaction_type: TransactionType
    order_type: OrderType
    product: Product = Product.INTRADAY
    validity: Validity = Validity.DAY
    price: int = 0
    trigger_price: int = 0
    disclosed_quantity: int = 0
    tag: str = ""
    is_amo: bool = False
    slice: bool = False
    market_protection: int | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"order quantity must be positive, got {self.quantity}")
        if self.order_type is OrderType.MARKET and self.price:
            raise ValueError("a MARKET order carries price 0 (Upstox UDAPI1040)")
        if len(self.tag) > 40:
            raise ValueError("order tag is at most 40 characters")


@dataclass(frozen=True, slots=True)
class ModifyOrderRequest:
    """A V3 order modification; prices in paise."""

    order_id: str
    order_type: OrderType
    quantity: int
    price: int = 0
    trigger_price: int = 0
    disclosed_quantity: int = 0
    validity: Validity = Validity.DAY
    market_protection: int | None = None


@dataclass(frozen=True, slots=True)
class OrderAck:
    """Upstox's acknowledgement of a place/modify/cancel: order ids and gateway latency."""

    order_ids: tuple[str, ...]
    latency_ms: int | None = None


@dataclass(frozen=True, slots=True)
class OrderDetails:
    """An order-book row (``/v2/order/details``, ``/v2/order/retrieve-all``)."""

    order_id: str
    status: str
    instrument_key: str
    transaction_type: str
    order_type: str
    product: str
    quantity: int
    filled_quantity: int
    pending_quantity: int
    price: int
    trigger_price: int
    average_price: int
    tag: str
    status_message: str
    exchange_order_id: str
    order_timestamp: str


@dataclass(frozen=True, slots=True)
class TradeRow:
    """A row of the day's trade book (``/v2/order/trades/get-trades-for-day``)."""

    trade_id: str
    order_id: str
    instrument_key: str
    transaction_type: str
    product: str
    quantity: int
    price: int


@dataclass(frozen=True, slots=True)
class PositionRow:
    """A short-term position (``/v2/portfolio/short-term-positions``); values in paise."""

    instrument_key: str
    product: str
    quantity: int
    day_buy_quantity: int
    day_sell_quantity: int
    day_buy_value: int
    day_sell_value: int
