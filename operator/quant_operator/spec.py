"""The TradingDay spec as a frozen, validated domain object (pure: no kopf, no I/O).

The handlers parse ``body["spec"]`` with :func:`parse_spec` once per reconcile; the
phase machine and the builders only ever see :class:`DaySpec`. Field names follow the
CRD (``crds/tradingday.yaml``, camelCase). The apiserver's schema rejects malformed
objects first; this module adds the checks a schema cannot express (ordered session
times, a known exchange) and turns any failure into one readable :class:`SpecError`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from quant.core.calendar import CALENDARS, NORMAL_SESSION, SessionTimes, calendar_for
from quant.trading.client_ids import ensure_distinct_prefixes
from quant.trading.errors import InvalidIntent

#: Components whose Deployments the operator scales (the gateway is never scaled).
SCALED_COMPONENTS: tuple[str, ...] = ("ingestor", "features", "scanner", "strategy")
GATEWAY = "gateway"
#: The single execution point: never scaled per phase, never above one replica.
EXECUTION = "execution"


class SpecError(ValueError):
    """The TradingDay spec is invalid; the message says which field and why."""


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True
    )


class Schedule(_Model):
    """Overrides of the calendar for this day (times are IST ``HH:MM``)."""

    pre_open_start: dt.time | None = None
    pre_open_end: dt.time | None = None
    market_open: dt.time | None = None
    market_close: dt.time | None = None
    closing_start: dt.time | None = None
    closing_end: dt.time | None = None
    #: How long before pre-open the operator starts preparing (token, instrument sync).
    prepare_minutes: int = Field(default=45, ge=1, le=720)
    #: Trade although the calendar lists a holiday or weekend (e.g. Muhurat trading).
    special_session: bool = False
    #: Declare the day closed although the calendar lists a session.
    holiday: bool = False

    def overrides(self) -> dict[str, dt.time]:
        """Overridden parts, named as :class:`SessionTimes` fields."""
        names = {
            "pre_open_start": "pre_open_start",
            "pre_open_end": "pre_open_end",
            "market_open": "open",
            "market_close": "close",
            "closing_start": "closing_start",
            "closing_end": "closing_end",
        }
        return {
            target: getattr(self, mine)
            for mine, target in names.items()
            if getattr(self, mine) is not None
        }

    @model_validator(mode="after")
    def _not_both(self) -> Schedule:
        if self.special_session and self.holiday:
            raise ValueError("specialSession and holiday cannot both be true")
        return self


class SecretRef(_Model):
    name: str = Field(min_length=1, max_length=253)
    key: str = "access_token"


class Replicas(_Model):
    """Replicas of each scaled service while the market is open (the CRD's defaults).

    The strategy runtime runs every listed strategy in each replica, so the phase machine
    runs at most one (and none while ``spec.strategies`` is empty).
    """

    ingestor: int = Field(default=1, ge=0, le=50)
    features: int = Field(default=1, ge=0, le=50)
    scanner: int = Field(default=1, ge=0, le=50)
    strategy: int = Field(default=1, ge=0, le=50)

    def as_mapping(self) -> Mapping[str, int]:
        return MappingProxyType({c: int(getattr(self, c)) for c in SCALED_COMPONENTS})


_RUPEES = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")
_PAISE_PER_RUPEE = 100


def _rupees(value: object) -> object:
    """Rupees as the CRD writes them: a decimal string with at most two places."""
    if isinstance(value, str) and _RUPEES.match(value):
        return Decimal(value)
    raise ValueError(f'rupees must be a decimal string like "5000" or "5000.50", got {value!r}')


Rupees = Annotated[Decimal, BeforeValidator(_rupees)]


class RiskLimitsSpec(_Model):
    """The execution service's limits for the day; ``None`` keeps the chart's value.

    The ``*Paise`` and ``maxOrdersPerSecond`` fields are the CRD's deprecated spellings;
    :meth:`effective` folds them into the current ones.
    """

    max_order_value: Rupees | None = None
    max_position_value: Rupees | None = None
    max_daily_loss: Rupees | None = None
    max_position_quantity: int | None = Field(default=None, ge=0)
    max_open_orders: int | None = Field(default=None, ge=0, le=100_000)
    orders_per_second: int | None = Field(default=None, ge=1, le=50)
    rate_mode: Literal["queue", "reject"] | None = None
    square_off_at: dt.time | None = None
    max_daily_loss_paise: int | None = Field(default=None, ge=1)
    max_position_value_paise: int | None = Field(default=None, ge=1)
    max_orders_per_second: int | None = Field(default=None, ge=1, le=10)

    @field_validator("square_off_at", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if isinstance(value, str) and not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            raise ValueError(f"squareOffAt must be HH:MM (IST), got {value!r}")
        return value

    @model_validator(mode="after")
    def _not_both(self) -> RiskLimitsSpec:
        pairs = (
            ("maxDailyLoss", self.max_daily_loss, "maxDailyLossPaise", self.max_daily_loss_paise),
            (
                "maxPositionValue",
                self.max_position_value,
                "maxPositionValuePaise",
                self.max_position_value_paise,
            ),
            (
                "ordersPerSecond",
                self.orders_per_second,
                "maxOrdersPerSecond",
                self.max_orders_per_second,
            ),
        )
        for new, new_value, old, old_value in pairs:
            if new_value is not None and old_value is not None:
                raise ValueError(f"{old} is deprecated: set only {new}")
        return self

    def effective(self) -> RiskLimitsSpec:
        """These limits with the deprecated fields folded into the current ones."""

        def rupees(paise: int | None) -> Decimal | None:
            return None if paise is None else Decimal(paise) / _PAISE_PER_RUPEE

        loss, value = self.max_daily_loss, self.max_position_value
        rate = self.orders_per_second
        return self.model_copy(
            update={
                "max_daily_loss": loss if loss is not None else rupees(self.max_daily_loss_paise),
                "max_position_value": value
                if value is not None
                else rupees(self.max_position_value_paise),
                "orders_per_second": rate if rate is not None else self.max_orders_per_second,
                "max_daily_loss_paise": None,
                "max_position_value_paise": None,
                "max_orders_per_second": None,
            }
        )


#: A strategy id as the runtime takes it (``quant.strategy.config``).
STRATEGY_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: ``package.module:ClassName``; the cluster has no file paths to load from.
STRATEGY_CLASS = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
MAX_STRATEGIES = 32


class StrategyLimitsSpec(_Model):
    """One strategy's limits in the execution service; ``None`` = no limit."""

    max_position_quantity: int | None = Field(default=None, ge=0)
    max_exposure: Rupees | None = None
    max_daily_loss: Rupees | None = None


class StrategySpec(_Model):
    """One entry of ``spec.strategies``: what the strategy Deployment runs."""

    id: str = Field(pattern=STRATEGY_ID)
    cls: str = Field(alias="class", pattern=STRATEGY_CLASS, max_length=256)
    params: Mapping[str, Any] = Field(default_factory=dict)
    mode: Literal["paper", "live"] | None = None
    algo_name: str | None = Field(default=None, min_length=1, max_length=64)
    limits: StrategyLimitsSpec = StrategyLimitsSpec()

    @field_validator("cls")
    @classmethod
    def _no_file(cls, value: str) -> str:
        if ".py:" in value:
            raise ValueError(
                f"{value!r} is a file path: in the cluster give package.module:ClassName "
                "importable from the image"
            )
        return value

    @field_validator("algo_name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and value != value.strip():
            raise ValueError("algoName must not start or end with a space")
        return value


class InstrumentSync(_Model):
    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_limit: int = Field(default=2, ge=0, le=10)
    active_deadline_seconds: int = Field(default=900, ge=30, le=7200)
    image: str | None = None


class UniverseList(_Model):
    name: str
    symbols: tuple[str, ...] = ()
    instrument_keys: tuple[str, ...] = ()


#: Longest ``--symbols`` argument the backfill Job gets (Linux caps one argument at 128 KiB).
MAX_UNIVERSE_CHARS = 100_000


class Universe(_Model):
    """The instruments the day trades and streams: symbols, keys and named lists."""

    symbols: tuple[str, ...] = ()
    instrument_keys: tuple[str, ...] = ()
    lists: tuple[UniverseList, ...] = ()

    def entries(self) -> tuple[str, ...]:
        """Every symbol and instrument key, lists included, once each, in order."""
        found = [*self.symbols, *self.instrument_keys]
        for named in self.lists:
            found += [*named.symbols, *named.instrument_keys]
        return tuple(dict.fromkeys(found))

    @model_validator(mode="after")
    def _fits_one_argument(self) -> Universe:
        size = len(",".join(self.entries()))
        if size > MAX_UNIVERSE_CHARS:
            raise ValueError(
                f"the universe joined is {size} characters, over {MAX_UNIVERSE_CHARS} "
                "(the backfill Job passes it as one --symbols argument); leave "
                "spec.universe out to backfill the operator's default universe"
            )
        return self


class Backfill(_Model):
    """The end-of-day ``quant backfill`` Job the operator runs in the Closing phase."""

    enabled: bool = True
    #: Minutes after the market close at which the Job starts.
    start_delay_minutes: int = Field(default=10, ge=0, le=240)
    max_attempts: int = Field(default=2, ge=1, le=10)
    backoff_limit: int = Field(default=1, ge=0, le=10)
    active_deadline_seconds: int = Field(default=3600, ge=60, le=21600)
    #: How long after the closing session (or the Job's start, if later) the day waits
    #: in Closing for the Job before it closes anyway.
    wait_minutes: int = Field(default=90, ge=0, le=720)
    image: str | None = None


class DaySpec(_Model):
    """A validated TradingDay spec."""

    date: dt.date
    exchange: str = "NSE"
    mode: Literal["paper", "live"] = "paper"
    schedule: Schedule = Schedule()
    token_secret_ref: SecretRef | None = None
    replicas: Replicas = Replicas()
    kill_switch: bool = False
    kill_switch_action: Literal["halt", "flatten"] = "halt"
    instrument_sync: InstrumentSync = InstrumentSync()
    universe: Universe = Universe()
    backfill: Backfill = Backfill()
    risk_limits: RiskLimitsSpec = RiskLimitsSpec()
    strategies: tuple[StrategySpec, ...] = Field(default=(), max_length=MAX_STRATEGIES)

    @field_validator("exchange")
    @classmethod
    def _known_exchange(cls, value: str) -> str:
        if value.upper() not in CALENDARS:
            raise ValueError(f"unknown exchange {value!r}; expected one of {sorted(CALENDARS)}")
        return value.upper()

    @model_validator(mode="after")
    def _live_needs_token(self) -> DaySpec:
        if self.mode == "live" and self.token_secret_ref is None:
            raise ValueError("mode=live requires spec.tokenSecretRef")
        return self

    @model_validator(mode="after")
    def _strategies_fit(self) -> DaySpec:
        ids = [s.id for s in self.strategies]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"strategies: ids must be unique; used twice: {twice}")
        try:
            ensure_distinct_prefixes(ids)
        except InvalidIntent as e:
            raise ValueError(f"strategies: {e}") from e
        other = [s.id for s in self.strategies if s.mode not in (None, self.mode)]
        if other:
            raise ValueError(
                f"strategies {other}: mode must be the day's mode {self.mode!r} "
                "(one execution service runs in one mode)"
            )
        return self

    @model_validator(mode="after")
    def _square_off_before_close(self) -> DaySpec:
        at = self.risk_limits.square_off_at
        close = calendar_for(self.exchange).normal_session.close
        if at is not None and at >= close:
            raise ValueError(
                f"riskLimits.squareOffAt must be before the normal close, {close:%H:%M} IST"
            )
        return self

    def session_times(self, base: SessionTimes = NORMAL_SESSION) -> SessionTimes:
        """The calendar's timings for this day with the schedule's overrides applied."""
        return base.with_overrides(**self.schedule.overrides())


def parse_spec(raw: Mapping[str, Any]) -> DaySpec:
    """Validate ``body["spec"]``; raise :class:`SpecError` naming each bad field."""
    try:
        spec = DaySpec.model_validate(dict(raw))
        spec.session_times()
    except ValidationError as e:
        problems = "; ".join(
            f"spec.{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in e.errors()
        )
        raise SpecError(problems) from e
    except ValueError as e:
        raise SpecError(f"spec.schedule: {e}") from e
    return spec
