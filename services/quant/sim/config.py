"""Configuration of one simulator instance (``SimConfig``), built by ``quant sim`` or tests.

Everything the simulator does is decided here: seed, simulated start time and speed,
network binding, TLS, the redirect status of the feed handshake, credentials of the one
registered app and user, and the size of the synthetic universe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from quant.core.clock import IST

# NSE trading holidays 2026 as published in late 2025 (UNCONFIRMED in this repo; the
# simulator only needs a plausible calendar).
NSE_HOLIDAYS_2026: tuple[date, ...] = (
    date(2026, 1, 26),
    date(2026, 3, 3),
    date(2026, 3, 26),
    date(2026, 3, 31),
    date(2026, 4, 3),
    date(2026, 4, 14),
    date(2026, 5, 1),
    date(2026, 5, 28),
    date(2026, 6, 26),
    date(2026, 9, 14),
    date(2026, 10, 2),
    date(2026, 10, 20),
    date(2026, 11, 10),
    date(2026, 12, 25),
)


def default_start(today: date, holidays: tuple[date, ...] = NSE_HOLIDAYS_2026) -> datetime:
    """09:14 IST on ``today`` or, if that is not a trading day, on the next trading day."""
    day = today
    while day.weekday() >= 5 or day in holidays:
        day += timedelta(days=1)
    return datetime.combine(day, time(9, 14), tzinfo=IST)


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
    extra_equities: int = 300
    fno_extra_underlyings: int = 100
    client_id: str = "sim-client"
    client_secret: str = "sim-secret"  # noqa: S105 - the simulator's own fake app secret
    redirect_uri: str = "http://127.0.0.1:8765/callback"
    user_id: str = "SIM001"
    user_name: str = "Sim Trader"
    email: str = "sim@example.invalid"
    notifier_url: str | None = None
    max_connections: int = 2
    rate_limits: bool = True
    holidays: tuple[date, ...] = field(default=NSE_HOLIDAYS_2026)

    def start_time(self, today: date) -> datetime:
        """The simulated clock's starting instant (aware)."""
        if self.start is not None:
            if self.start.tzinfo is None:
                raise ValueError("SimConfig.start must be timezone-aware")
            return self.start
        return default_start(today, self.holidays)
