"""How old market data is by exchange time, and whether it is too old to act on.

Pure functions, no clock of their own: the caller passes ``now_ns`` from its injected
clock. The age of a piece of data is ``now - ts_event`` where ``ts_event`` is the
exchange's timestamp (the feed frame's ``currentTs``), so a feed that arrives late but
steadily is seen as old, however lively it looks. The ingestor uses them for its
freshness metrics and ``/readyz``, the gateway for the ``age_s``/``stale`` of a quote,
and a strategy can call :func:`is_stale` to refuse data before acting on it.

:func:`trading_since` says whether the exchange is in continuous trading at an instant
(from :mod:`quant.core.calendar`) and since when: data is expected only then.
"""

from __future__ import annotations

from datetime import date

from quant.core.calendar import ExchangeCalendar
from quant.core.clock import IST, NS_PER_SECOND, ns_to_datetime

DEFAULT_STALE_AFTER_S = 5.0


def age_ns(ts_event_ns: int, now_ns: int) -> int:
    """Nanoseconds from the exchange timestamp to ``now`` (negative if it is ahead)."""
    return now_ns - ts_event_ns


def age_seconds(ts_event_ns: int, now_ns: int) -> float:
    """Seconds from the exchange timestamp to ``now``."""
    return age_ns(ts_event_ns, now_ns) / NS_PER_SECOND


def is_stale(ts_event_ns: int, now_ns: int, max_age_s: float = DEFAULT_STALE_AFTER_S) -> bool:
    """True when the data is older than ``max_age_s`` by exchange time."""
    return age_ns(ts_event_ns, now_ns) > max_age_s * NS_PER_SECOND


def trading_since(calendar: ExchangeCalendar, now_ns: int) -> int | None:
    """The instant (UTC ns) continuous trading opened if it is on at ``now_ns``, else None.

    Continuous trading is ``open``–``close`` of the day's session (normal or special),
    IST; weekends and holidays have none.
    """
    day: date = ns_to_datetime(now_ns, IST).date()
    session = calendar.session(day)
    if session is None:
        return None
    bounds = session.times.bounds_ns(day)
    return bounds.open if bounds.open <= now_ns < bounds.close else None
