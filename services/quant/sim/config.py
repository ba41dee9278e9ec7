"""Configuration of one simulator instance (``SimConfig``), built by ``quant sim`` or tests.

Everything the simulator does is decided here: seed, simulated start time and speed,
network binding, TLS, the redirect status of the feed handshake, credentials of the one
registered app and user, the size of the synthetic universe and the exchange calendar
(:data:`quant.sim.calendar.SIM_CALENDAR`, the platform's NSE calendar by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from quant.core.calendar import ExchangeCalendar
from quant.core.clock import IST, datetime_to_ns, ns_to_datetime
from quant.core.freshness import trading_since
from quant.sim import calendar
from quant.sim.calendar import SIM_CALENDAR

MAX_EXTRA_EQUITIES = 9000  # synthetic symbols are drawn from ~9,200 syllable combinations


def default_start(today: date, cal: ExchangeCalendar = SIM_CALENDAR) -> datetime:
    """09:14 IST on ``today`` or, if that is not a full trading day, on the next one."""
    day = today
    while not calendar.has_normal_session(day, cal):
        day += timedelta(days=1)
    return datetime.combine(day, time(9, 14), tzinfo=IST)


def live_start(now: datetime, cal: ExchangeCalendar = SIM_CALENDAR) -> datetime | None:
    """``now`` (IST) if the exchange is in continuous trading at ``now``, else None.

    ``quant sim`` starts there by default, so that during market hours its exchange
    timestamps are real time, as Upstox's are: a service on the wall clock (a separate
    ``quant ingestor``) then measures the data's age truly.
    """
    ns = datetime_to_ns(now)
    return ns_to_datetime(ns, IST) if trading_since(cal, ns) is not None else None


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Knobs of one simulator; the defaults give a normal trading day at real speed."""

    seed: int = 7
    speed: float = 1.0
    start: datetime | None = None
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    redirect_status: int = 302
    step_interval: float = 0.5
    ping_interval: float | None = 10.0
    extra_equities: int = 300  # synthetic names besides the NIFTY 50 (2150: NSE EQ size)
    fno_extra_underlyings: int = 100
    client_id: str = "sim-client"
    client_secret: str = "sim-secret"  # noqa: S105 - the simulator's own fake app secret
    redirect_uri: str = "http://127.0.0.1:8767/callback"
    user_id: str = "SIM001"
    user_name: str = "Sim Trader"
    email: str = "sim@example.invalid"
    notifier_url: str | None = None
    max_connections: int = 2
    rate_limits: bool = True
    calendar: ExchangeCalendar = field(default=SIM_CALENDAR)

    def start_time(self, today: date) -> datetime:
        """The simulated clock's starting instant (aware)."""
        if self.start is not None:
            if self.start.tzinfo is None:
                raise ValueError("SimConfig.start must be timezone-aware")
            return self.start
        return default_start(today, self.calendar)

    def __post_init__(self) -> None:
        if not 0 <= self.extra_equities <= MAX_EXTRA_EQUITIES:
            raise ValueError(
                f"extra_equities must be 0-{MAX_EXTRA_EQUITIES}, got {self.extra_equities}"
            )
