"""The one settings object of ``quant execution`` (env prefix ``QUANT_``, nesting ``__``).

Money is configured in rupees (``QUANT_RISK__MAX_ORDER_VALUE=250000.50``: a decimal
string, at most two places) and converted to integer paise once, here
(:meth:`RiskSettings.to_limits`); durations in seconds or milliseconds become ns. A value
that cannot be represented (a negative limit, a fraction of a paisa, a rate above what
Upstox allows, a square-off time after the close) fails at start-up with a message naming
the setting.

E.g. ``QUANT_MODE=live QUANT_DEFAULT_ALGO_NAME=my-algo``,
``QUANT_RISK__STRATEGIES='{"momentum": {"max_position_quantity": 500,
"max_exposure": "1000000", "max_daily_loss": "5000"}}'``, ``QUANT_RATE__MODE=reject``,
``QUANT_PAPER__LATENCY_MS=20``, ``QUANT_SQUARE_OFF_AT=15:10``.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import NS_PER_SECOND
from quant.runtime.settings import DataServiceSettings, Section
from quant.trading.client_ids import ensure_distinct_prefixes
from quant.trading.errors import InvalidIntent
from quant.trading.paper import PaperConfig
from quant.trading.ratelimit import OrderRateLimiter, RateMode, order_windows
from quant.trading.risk_limits import FreezePolicy, RiskLimits, StrategyLimits
from quant.trading.squareoff import DEFAULT_SQUARE_OFF, MisSquareOff
from quant.users.settings import DEFAULT_DATA_DIR, RELATIONAL_FILE

NS_PER_MS = 1_000_000
#: SEBI: 10 orders/s for algorithms that are not registered, 50 for registered ones
MAX_ORDERS_PER_SECOND = 50


def _whole_paise(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError(f"{value} is not an amount of rupees")
    if value < 0:
        raise ValueError(f"{value} is negative: give an amount of rupees >= 0 (0 = no limit)")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{value} has a fraction of a paisa: give rupees with at most 2 places")
    return value


#: rupees as a decimal string or number, >= 0, whole paise (0 means "no limit")
Rupees = Annotated[Decimal, AfterValidator(_whole_paise)]


def to_paise(rupees: Decimal) -> int:
    """Rupees (whole paise, validated) -> integer paise."""
    return int(rupees * 100)


class StrategyRiskSettings(Section):
    """One strategy's limits (an entry of ``QUANT_RISK__STRATEGIES``); 0 = no limit."""

    max_position_quantity: int = Field(default=0, ge=0)
    max_exposure: Rupees = Decimal(0)
    max_daily_loss: Rupees = Decimal(0)

    def to_limits(self) -> StrategyLimits:
        return StrategyLimits(
            max_position_quantity=self.max_position_quantity,
            max_exposure=to_paise(self.max_exposure),
            max_daily_loss=to_paise(self.max_daily_loss),
        )


class RiskSettings(Section):
    """Pre-trade risk limits (``QUANT_RISK__*``); money in rupees, 0 = no limit."""

    max_order_value: Rupees = Decimal(0)
    max_position_value: Rupees = Decimal(0)
    max_daily_loss: Rupees = Decimal(0)
    max_position_quantity: int = Field(default=0, ge=0)
    max_open_orders: int = Field(default=0, ge=0)
    # above the exchange freeze quantity: split into child orders, or reject
    freeze_policy: Literal["split", "reject"] = "split"
    # MARKET / SL-M orders are sent as limits this many percent beyond the touch (1-25)
    market_protection_pct: int = Field(default=5, ge=1, le=25)
    # a quote older than this is stale (no MARKET order on it); 0 = never stale
    max_quote_age_s: float = Field(default=5.0, ge=0)
    # accept orders outside market hours as after-market orders
    allow_amo: bool = True
    # per-strategy limits, JSON: {"name": {"max_position_quantity": 100, ...}}
    strategies: dict[str, StrategyRiskSettings] = Field(default_factory=dict)

    def to_limits(self) -> RiskLimits:
        """The engine's limits, in paise and ns."""
        return RiskLimits(
            max_order_value=to_paise(self.max_order_value),
            max_position_quantity=self.max_position_quantity,
            max_position_value=to_paise(self.max_position_value),
            max_open_orders=self.max_open_orders,
            max_daily_loss=to_paise(self.max_daily_loss),
            strategies={name: s.to_limits() for name, s in self.strategies.items()},
            freeze_policy=FreezePolicy(self.freeze_policy),
            market_protection_pct=self.market_protection_pct,
            max_quote_age_ns=round(self.max_quote_age_s * NS_PER_SECOND),
            allow_amo=self.allow_amo,
        )


class RateSettings(Section):
    """The order-rate limit (``QUANT_RATE__*``): orders per second (plus Upstox's 500/min
    and 2,000/30 min), and whether an order over it waits for its slot or is rejected."""

    orders_per_second: int = Field(default=10, ge=1, le=MAX_ORDERS_PER_SECOND)
    mode: Literal["queue", "reject"] = "queue"

    def to_limiter(self) -> OrderRateLimiter:
        return OrderRateLimiter(order_windows(self.orders_per_second), RateMode(self.mode))


class PaperSettings(Section):
    """The paper broker (``QUANT_PAPER__*``): simulated latency and the stale-quote age."""

    latency_ms: int = Field(default=0, ge=0)
    jitter_ms: int = Field(default=0, ge=0)
    seed: int = 0
    # no fill against a book older than this
    stale_after_s: float = Field(default=2.0, ge=0)
    # latency and staleness on event time (the ticks' exchange time and the strategy's
    # decision time), not on when an order or a tick reaches the service: a paper run
    # then fills as a tick backtest of its recorded ticks does (docs/strategies.md)
    event_time: bool = False

    def to_config(self) -> PaperConfig:
        return PaperConfig(
            latency_ns=self.latency_ms * NS_PER_MS,
            jitter_ns=self.jitter_ms * NS_PER_MS,
            seed=self.seed,
            stale_after_ns=round(self.stale_after_s * NS_PER_SECOND),
            event_time=self.event_time,
        )


class ExecutionSettings(DataServiceSettings):
    """Everything ``quant execution`` reads; see the module docstring."""

    # QUANT_MODE: paper (orders filled by the paper broker against live quotes) or live
    # (orders to Upstox at QUANT_UPSTOX__API_BASE with the token of `quant auth login`)
    mode: Literal["paper", "live"] = "paper"
    api_host: str = "0.0.0.0"  # noqa: S104  # a pod's API listens on its address
    api_port: int = Field(default=8081, ge=0, le=65535)
    risk: RiskSettings = RiskSettings()
    rate: RateSettings = RateSettings()
    # X-Algo-Name per strategy (QUANT_ALGO_NAMES='{"momentum": "MOM-1"}'), else the default;
    # live orders without one are rejected (NO_ALGO_NAME)
    algo_names: dict[str, str] = Field(default_factory=dict)
    default_algo_name: str = ""
    # MIS square-off (IST wall-clock time before the close; special sessions: as long before
    # their own close)
    square_off_at: time = DEFAULT_SQUARE_OFF
    paper: PaperSettings = PaperSettings()
    # the audit table and the users: PostgreSQL (QUANT_POSTGRES__DSN, required in the
    # cluster), else this SQLite file (shared with `quant up` and `quant users`)
    relational_file: Path = DEFAULT_DATA_DIR / RELATIONAL_FILE
    # consumer group of orders.intents (offsets committed once the engine took an intent)
    intents_group: str = "execution"
    # control.commands and the ticks are read under "<prefix>-<random>" groups per start
    # (control from the beginning: compacted state; ticks from the end: latest only)
    control_group: str = "execution-control"
    ticks_group: str = "execution-ticks"
    # at start, kill switches are read up to the end of control.commands; with none there,
    # this long (a new Kafka group waits for its partition assignment)
    control_catchup_s: float = Field(default=5.0, ge=0, le=120)
    # the engine's timer (MIS square-off, queued sends, unknown-order resolution, loss check)
    timer_interval_s: float = Field(default=0.1, gt=0, le=5)
    # what survives is frozen out of the cyclic GC this often (0: never; then the day's
    # order state is walked by every full pass, tens of ms while intents wait), and a full
    # pass reclaims frozen cycles after this long, once no intent came for 2 s
    gc_freeze_every_s: float = Field(default=1.0, ge=0, le=600)
    gc_full_every_s: float = Field(default=900.0, gt=0)
    # circuit limits (and a first quote) per instrument from the Upstox REST full market
    # quote, once per instrument per IST day, with the token of `quant auth login` (paper
    # mode too; without a token file there: no circuit-limit check, a warning at start).
    # An intent waits at most rest_quote_wait_s for it; a failed request is retried after
    # rest_quote_retry_s (meanwhile that instrument's orders have no circuit-limit check)
    rest_quotes: bool = True
    rest_quote_wait_s: float = Field(default=1.0, ge=0, le=30)
    rest_quote_retry_s: float = Field(default=30.0, ge=1, le=3600)
    # the API's key cache (seconds a checked key is trusted)
    key_cache_s: float = Field(default=30.0, ge=0)
    metrics_port: int = Field(default=9103, ge=0, le=65535)

    @field_validator("square_off_at")
    @classmethod
    def _before_close(cls, value: time) -> time:
        MisSquareOff(NSE_CALENDAR, value)  # raises ValueError with the reason
        return value

    @field_validator("algo_names")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        empty = sorted(k for k, v in value.items() if not v.strip())
        if empty:
            raise ValueError(f"empty algo name for strategies {empty}")
        return value

    @model_validator(mode="after")
    def _distinct_prefixes(self) -> ExecutionSettings:
        """Two configured strategies whose client order ids would clash are refused at
        start (the engine also refuses such an intent: ``STRATEGY_PREFIX_TAKEN``)."""
        try:
            ensure_distinct_prefixes(sorted({*self.algo_names, *self.risk.strategies}))
        except InvalidIntent as e:
            raise ValueError(str(e)) from e
        return self

    def algo_name_for(self, strategy: str) -> str:
        """The algo name ``strategy``'s live orders carry ("" when none)."""
        return self.algo_names.get(strategy, self.default_algo_name)
