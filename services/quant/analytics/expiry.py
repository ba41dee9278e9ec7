"""Time to expiry for NSE/BSE derivatives, in years, for Black-76.

Day count: **ACT/365 on calendar time** - the exact number of nanoseconds from ``now`` to
the expiry instant divided by 365 days (weekends and holidays count; no trading-time
weighting). NSE equity derivatives stop trading at **15:30 IST** on the expiry date, which
is the expiry instant used here; the close is configurable for other segments.

Pure (no wall clock): the caller passes ``now_ns`` from its injected clock. Called by the
feature engine's option path and by the simulator's option-chain pricing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns

NSE_EXPIRY_CLOSE = time(15, 30)
SECONDS_PER_YEAR = 365 * 86_400
NS_PER_YEAR = SECONDS_PER_YEAR * NS_PER_SECOND
DEFAULT_RATE = 0.065
"""Default continuously compounded rate (~ the 91-day T-bill yield); configure per service."""


def expiry_ns(expiry: date, close: time = NSE_EXPIRY_CLOSE) -> int:
    """UTC nanoseconds of ``close`` IST on the expiry date (15:30 IST by default)."""
    return datetime_to_ns(datetime.combine(expiry, close, tzinfo=IST))


def years_between(now_ns: int, until_ns: int) -> float:
    """ACT/365 year fraction from ``now_ns`` to ``until_ns`` (negative once past)."""
    return (until_ns - now_ns) / NS_PER_YEAR


def time_to_expiry(now_ns: int, expiry: date, close: time = NSE_EXPIRY_CLOSE) -> float:
    """ACT/365 years from ``now_ns`` to 15:30 IST on ``expiry``; 0.0 once expired."""
    return max(years_between(now_ns, expiry_ns(expiry, close)), 0.0)


@dataclass(frozen=True, slots=True)
class OptionPricingConfig:
    """The rate and expiry close used to price options (one per feature-engine instance)."""

    rate: float = DEFAULT_RATE
    expiry_close: time = NSE_EXPIRY_CLOSE

    def time_to_expiry(self, now_ns: int, expiry: date) -> float:
        """ACT/365 years from ``now_ns`` to this config's close on ``expiry``."""
        return time_to_expiry(now_ns, expiry, self.expiry_close)
