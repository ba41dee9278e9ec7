"""Pre-trade risk configuration and the stable reason codes of its rejections.

``RejectReason`` is the contract with everything downstream of the risk check: the audit
trail (``executed_orders.reason``), the gateway's 422 answers, the rejections-by-reason
metric and the operator's dashboards key on these strings, so a code is never renamed or
reused; new rules add new codes. Each code's meaning:

``HALTED``                  trading is halted for the account or the strategy (kill switch)
``REDUCING_ONLY``           the account or strategy is in REDUCING and the order does not
                            reduce its position (see ``quant.trading.state``)
``DAILY_LOSS``              the day's loss (realised + unrealised + charges) reached the
                            account's or the strategy's limit: only reducing orders pass
``UNKNOWN_INSTRUMENT``      no instrument master row for the order's instrument key
``NOT_TRADABLE``            the instrument cannot be ordered (an index)
``INSTRUMENT_EXPIRED``      the contract expired before today (IST)
``MARKET_CLOSED``           outside the exchange's order-entry hours, and no AMO allowed
``LOT_SIZE``                quantity is not a whole number of lots
``TICK_SIZE``               price or trigger price is not a multiple of the tick size
``NO_QUOTE``                no quote, a stale one, or none with a price to protect a
                            MARKET / SL-M order with
``PRICE_BAND``              price or trigger price outside the circuit limits
``ORDER_VALUE``             quantity x reference price above the maximum order value
``POSITION_QUANTITY``       the account's position in the instrument would pass its limit
``POSITION_VALUE``          ... its notional would pass the limit
``STRATEGY_POSITION_QUANTITY`` the strategy's position in the instrument would pass its limit
``STRATEGY_EXPOSURE``       the strategy's gross notional over all instruments would pass it
``OPEN_ORDERS``             the account would have more working orders than allowed
``FREEZE_QUANTITY``         above the exchange freeze quantity and splitting is off, or it
                            needs more child orders than the broker takes (25)
``RATE_LIMIT``              over the order-rate limit with queueing off (``ratelimit``)
``NO_ALGO_NAME``            a live order without an algo name (``X-Algo-Name``) for its strategy
``BROKER_REJECTED``         the broker or the exchange refused the order (its words in the
                            order's message)
``LOST_BEFORE_SEND``        recorded as about to be sent, but the broker never saw it (the
                            process stopped in between); found at recovery

All money in paise, quantities in units. A limit of 0 means "no limit" for the optional
ones (documented per field); the rate and protection settings always apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

#: Upstox's V3 ``slice`` splits into at most this many child orders.
MAX_CHILD_ORDERS = 25


class RejectReason(StrEnum):
    """Why the risk check (or the order-rate limiter) refused an intent; see the module doc."""

    HALTED = "HALTED"
    REDUCING_ONLY = "REDUCING_ONLY"
    DAILY_LOSS = "DAILY_LOSS"
    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT"
    NOT_TRADABLE = "NOT_TRADABLE"
    INSTRUMENT_EXPIRED = "INSTRUMENT_EXPIRED"
    MARKET_CLOSED = "MARKET_CLOSED"
    LOT_SIZE = "LOT_SIZE"
    TICK_SIZE = "TICK_SIZE"
    NO_QUOTE = "NO_QUOTE"
    PRICE_BAND = "PRICE_BAND"
    ORDER_VALUE = "ORDER_VALUE"
    POSITION_QUANTITY = "POSITION_QUANTITY"
    POSITION_VALUE = "POSITION_VALUE"
    STRATEGY_POSITION_QUANTITY = "STRATEGY_POSITION_QUANTITY"
    STRATEGY_EXPOSURE = "STRATEGY_EXPOSURE"
    OPEN_ORDERS = "OPEN_ORDERS"
    FREEZE_QUANTITY = "FREEZE_QUANTITY"
    RATE_LIMIT = "RATE_LIMIT"
    NO_ALGO_NAME = "NO_ALGO_NAME"
    BROKER_REJECTED = "BROKER_REJECTED"
    LOST_BEFORE_SEND = "LOST_BEFORE_SEND"


class FreezePolicy(StrEnum):
    """What to do with an order above the exchange freeze quantity."""

    SPLIT = "split"  # into child orders of at most the freeze quantity each
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class StrategyLimits:
    """Limits of one strategy (0 = no limit)."""

    #: |net units| the strategy may hold in any one instrument
    max_position_quantity: int = 0
    #: gross notional (sum over instruments of |net units| x price) in paise
    max_exposure: int = 0
    #: loss (paise, a positive number) after which the strategy may only reduce
    max_daily_loss: int = 0


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The account's pre-trade limits; one value per execution process."""

    #: quantity x reference price of one intent, paise (0 = no limit)
    max_order_value: int = 0
    #: |net units| of the account in one instrument, all strategies and products (0 = none)
    max_position_quantity: int = 0
    #: |net units| x reference price of the account in one instrument, paise (0 = none)
    max_position_value: int = 0
    #: working orders of the account, counting the new child orders (0 = none)
    max_open_orders: int = 0
    #: account loss (paise, positive) after which the whole account may only reduce (0 = none)
    max_daily_loss: int = 0
    #: limits for strategies not listed in ``strategies``
    default_strategy: StrategyLimits = StrategyLimits()
    strategies: Mapping[str, StrategyLimits] = field(default_factory=lambda: MappingProxyType({}))
    freeze_policy: FreezePolicy = FreezePolicy.SPLIT
    #: MARKET and SL-M orders become limits this many percent (1-25) beyond the touch
    #: (MARKET) or the trigger (SL-M); sent as Upstox ``market_protection``
    market_protection_pct: int = 5
    #: a quote older than this is stale (ns); 0 = quotes never go stale
    max_quote_age_ns: int = 5_000_000_000
    #: accept orders outside market hours as after-market orders (AMO)
    allow_amo: bool = True

    def __post_init__(self) -> None:
        for name in (
            "max_order_value",
            "max_position_quantity",
            "max_position_value",
            "max_open_orders",
            "max_daily_loss",
            "max_quote_age_ns",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"risk limit {name} must be a whole number >= 0, got {value!r}")
        if not isinstance(self.market_protection_pct, int) or not (
            1 <= self.market_protection_pct <= 25
        ):
            raise ValueError(
                "market_protection_pct must be a whole percent 1-25 (Upstox's range), got "
                f"{self.market_protection_pct!r}"
            )
        if not isinstance(self.strategies, MappingProxyType):
            object.__setattr__(self, "strategies", MappingProxyType(dict(self.strategies)))

    def for_strategy(self, strategy: str) -> StrategyLimits:
        """The limits of ``strategy`` (its own entry, or the default)."""
        return self.strategies.get(strategy, self.default_strategy)
