"""Order intents: what a strategy (or a person, through the gateway) asks execution to do.

An ``OrderIntent`` is an immutable, validated value: constructing a malformed one raises
``InvalidIntent`` with the reason, so everything downstream (risk, the OMS, the brokers)
can rely on its shape. Prices are integer paise, quantities units (shares or contracts,
never lots). Price rules by order type (as Upstox's place-order API takes them):

- MARKET: no price, no trigger price (both 0);
- LIMIT: a price, no trigger price;
- SL (stop-loss limit): a price and a trigger price; a BUY triggers at or below its limit
  price, a SELL at or above it;
- SL-M (stop-loss market): a trigger price, no price.

``tag`` is a free label for the strategy's own use (kept with the order in the audit
trail); the order's Upstox ``tag`` is its client order id (``quant.trading.client_ids``).
An ``Amendment`` is a requested modification; applying it yields a new, re-validated intent.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from quant.core.orders import OrderType, Side
from quant.trading.errors import InvalidIntent

_STRATEGY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_INSTRUMENT_KEY = re.compile(r"[A-Z_]+\|[^|\s]+")
MAX_TAG_LENGTH = 64


class Product(StrEnum):
    """Upstox product: ``I`` intraday (MIS, squared off the same day), ``D`` delivery/carry."""

    INTRADAY = "I"
    DELIVERY = "D"


class Validity(StrEnum):
    """``DAY``: works until filled, cancelled or the session ends; ``IOC``: fill now or cancel."""

    DAY = "DAY"
    IOC = "IOC"


def _positive_int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidIntent(f"{what} must be a positive whole number, got {value!r}")
    return value


def _non_negative_int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidIntent(f"{what} must be a whole number of paise >= 0, got {value!r}")
    return value


def _check_prices(order_type: OrderType, side: Side, price: int, trigger: int) -> None:
    if order_type is OrderType.MARKET:
        if price or trigger:
            raise InvalidIntent("a MARKET order takes no price and no trigger price")
    elif order_type is OrderType.LIMIT:
        if price <= 0:
            raise InvalidIntent("a LIMIT order needs a price > 0")
        if trigger:
            raise InvalidIntent("a LIMIT order takes no trigger price (use SL for a stop)")
    elif order_type is OrderType.SL:
        if price <= 0 or trigger <= 0:
            raise InvalidIntent("an SL order needs both a price and a trigger price > 0")
        if side is Side.BUY and trigger > price:
            raise InvalidIntent(
                f"an SL BUY's trigger price ({trigger} paise) must not be above its price "
                f"({price} paise)"
            )
        if side is Side.SELL and trigger < price:
            raise InvalidIntent(
                f"an SL SELL's trigger price ({trigger} paise) must not be below its price "
                f"({price} paise)"
            )
    else:  # SL-M
        if price:
            raise InvalidIntent("an SL-M order takes no price (it becomes MARKET when triggered)")
        if trigger <= 0:
            raise InvalidIntent("an SL-M order needs a trigger price > 0")


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One order a strategy wants placed; immutable and valid by construction."""

    strategy: str
    instrument_key: str
    side: Side
    quantity: int
    order_type: OrderType
    product: Product
    price: int = 0
    trigger_price: int = 0
    validity: Validity = Validity.DAY
    tag: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.strategy, str) or not _STRATEGY.fullmatch(self.strategy):
            raise InvalidIntent(
                f"strategy name {self.strategy!r} must be 1-64 letters, digits, '_', '.' or '-',"
                " starting with a letter or digit"
            )
        if not isinstance(self.instrument_key, str) or not _INSTRUMENT_KEY.fullmatch(
            self.instrument_key
        ):
            raise InvalidIntent(
                f"instrument key {self.instrument_key!r} is not of the form SEGMENT|TOKEN "
                "(e.g. NSE_EQ|INE002A01018)"
            )
        for value, enum, what in (
            (self.side, Side, "side"),
            (self.order_type, OrderType, "order type"),
            (self.product, Product, "product"),
            (self.validity, Validity, "validity"),
        ):
            if not isinstance(value, enum):
                raise InvalidIntent(f"{what} must be a {enum.__name__}, got {value!r}")
        _positive_int(self.quantity, "quantity")
        _non_negative_int(self.price, "price")
        _non_negative_int(self.trigger_price, "trigger price")
        _check_prices(self.order_type, self.side, self.price, self.trigger_price)
        if not isinstance(self.tag, str) or len(self.tag) > MAX_TAG_LENGTH:
            raise InvalidIntent(f"tag must be a string of at most {MAX_TAG_LENGTH} characters")
        if not self.tag.isprintable():
            raise InvalidIntent("tag must contain printable characters only")

    @property
    def is_stop(self) -> bool:
        """True for SL and SL-M: the order waits for its trigger price."""
        return self.order_type in (OrderType.SL, OrderType.SL_M)


@dataclass(frozen=True, slots=True)
class Amendment:
    """A requested modification of a working order; ``None`` keeps the current value."""

    quantity: int | None = None
    price: int | None = None
    trigger_price: int | None = None
    order_type: OrderType | None = None
    validity: Validity | None = None

    def apply(self, intent: OrderIntent) -> OrderIntent:
        """The intent as amended, validated again (``InvalidIntent`` if the result is bad)."""
        changes = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }
        if not changes:
            raise InvalidIntent("an amendment must change at least one field")
        return dataclasses.replace(intent, **changes)


class IntentMessage(NamedTuple):
    """An intent as it travels on ``orders.intents``.

    ``sequence`` is the strategy's own number for the intent on its trading day (1, 2,
    ...): the execution service derives the client order id from it, so a redelivered
    message maps to the order already made instead of a second one. 0 lets the service
    number it. ``ts_event``: when the strategy decided (UTC ns).
    """

    intent: OrderIntent
    sequence: int = 0
    ts_event: int = 0
