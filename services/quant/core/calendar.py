"""NSE/BSE trading calendar: holidays, special sessions and session timings (IST).

Pure data and lookups, no I/O and no wall clock. The operator's phase machine
(``quant_operator.phases``) asks it whether a date trades and when each part of the
session starts; services may use it for market-hours checks. Times are wall-clock IST
(:data:`quant.core.clock.IST`); :meth:`SessionTimes.bounds_ns` turns a session into UTC
nanoseconds for a given date.

Holiday lists are the exchange's published equity-segment lists for 2025 and 2026
(NSE circulars; BSE publishes the same dates). The 2027 list is not yet published: the
entries are marked ``provisional`` (fixed-date national holidays plus festival dates from
the almanac) and a ``TradingDay``'s schedule overrides any of it. Muhurat (Diwali)
sessions are special sessions on otherwise-closed days; their timings come by circular
shortly before Diwali, so a date whose timings are not yet announced is ``provisional``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType

from quant.core.clock import IST, datetime_to_ns


class SessionKind(StrEnum):
    NORMAL = "normal"
    SPECIAL = "special"


@dataclass(frozen=True, slots=True)
class SessionTimes:
    """The parts of one session as IST wall-clock times, in order.

    Pre-open order entry runs ``pre_open_start``–``pre_open_end`` (order matching until
    ``open``); continuous trading ``open``–``close``; the closing (post-close) session
    ``closing_start``–``closing_end``.
    """

    pre_open_start: time = time(9, 0)
    pre_open_end: time = time(9, 8)
    open: time = time(9, 15)
    close: time = time(15, 30)
    closing_start: time = time(15, 40)
    closing_end: time = time(16, 0)

    def __post_init__(self) -> None:
        order = (
            self.pre_open_start,
            self.pre_open_end,
            self.open,
            self.close,
            self.closing_start,
            self.closing_end,
        )
        if any(a > b for a, b in itertools.pairwise(order)):
            raise ValueError(
                "session times must be ordered pre_open_start <= pre_open_end <= open"
                " <= close <= closing_start <= closing_end"
            )

    def with_overrides(self, **overrides: time) -> SessionTimes:
        """A copy with some parts replaced (validated again)."""
        return replace(self, **overrides)

    def bounds_ns(self, day: date) -> SessionBounds:
        """The session's instants on ``day`` as UTC nanoseconds."""

        def at(t: time) -> int:
            return datetime_to_ns(datetime.combine(day, t, tzinfo=IST))

        return SessionBounds(
            pre_open_start=at(self.pre_open_start),
            pre_open_end=at(self.pre_open_end),
            open=at(self.open),
            close=at(self.close),
            closing_start=at(self.closing_start),
            closing_end=at(self.closing_end),
        )


@dataclass(frozen=True, slots=True)
class SessionBounds:
    """A session's instants as UTC nanoseconds."""

    pre_open_start: int
    pre_open_end: int
    open: int
    close: int
    closing_start: int
    closing_end: int


NORMAL_SESSION = SessionTimes()


@dataclass(frozen=True, slots=True)
class Holiday:
    day: date
    name: str
    provisional: bool = False


@dataclass(frozen=True, slots=True)
class SpecialSession:
    """A session on a day that is otherwise closed (e.g. Muhurat trading)."""

    day: date
    name: str
    times: SessionTimes
    provisional: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    """What a trading date looks like: its kind, name and timings."""

    day: date
    kind: SessionKind
    times: SessionTimes
    name: str = "normal session"


def _holidays(
    year: int, entries: Iterable[tuple[int, int, str]], *, provisional: bool = False
) -> tuple[Holiday, ...]:
    return tuple(Holiday(date(year, m, d), name, provisional) for m, d, name in entries)


NSE_HOLIDAYS: tuple[Holiday, ...] = (
    *_holidays(
        2025,
        [
            (2, 26, "Mahashivratri"),
            (3, 14, "Holi"),
            (3, 31, "Id-Ul-Fitr (Ramadan Eid)"),
            (4, 10, "Shri Mahavir Jayanti"),
            (4, 14, "Dr. Baba Saheb Ambedkar Jayanti"),
            (4, 18, "Good Friday"),
            (5, 1, "Maharashtra Day"),
            (8, 15, "Independence Day"),
            (8, 27, "Ganesh Chaturthi"),
            (10, 2, "Mahatma Gandhi Jayanti / Dussehra"),
            (10, 21, "Diwali Laxmi Pujan"),
            (10, 22, "Diwali Balipratipada"),
            (11, 5, "Prakash Gurpurb Sri Guru Nanak Dev"),
            (12, 25, "Christmas"),
        ],
    ),
    *_holidays(
        2026,
        [
            (1, 15, "Municipal Corporation elections in Maharashtra"),
            (1, 26, "Republic Day"),
            (3, 3, "Holi"),
            (3, 26, "Shri Ram Navami"),
            (3, 31, "Shri Mahavir Jayanti"),
            (4, 3, "Good Friday"),
            (4, 14, "Dr. Baba Saheb Ambedkar Jayanti"),
            (5, 1, "Maharashtra Day"),
            (5, 28, "Bakri Id"),
            (6, 26, "Muharram"),
            (9, 14, "Ganesh Chaturthi"),
            (10, 2, "Mahatma Gandhi Jayanti"),
            (10, 20, "Dussehra"),
            (11, 10, "Diwali Balipratipada"),
            (11, 24, "Prakash Gurpurb Sri Guru Nanak Dev"),
            (12, 25, "Christmas"),
        ],
    ),
    *_holidays(
        2027,
        [
            (1, 26, "Republic Day"),
            (3, 10, "Id-Ul-Fitr (Ramadan Eid)"),
            (3, 22, "Holi"),
            (3, 26, "Good Friday"),
            (4, 14, "Dr. Baba Saheb Ambedkar Jayanti"),
            (4, 15, "Shri Ram Navami"),
            (5, 17, "Bakri Id"),
            (6, 15, "Muharram"),
            (10, 29, "Diwali Laxmi Pujan"),
        ],
        provisional=True,
    ),
)


def _times(*parts: tuple[int, int]) -> SessionTimes:
    return SessionTimes(*(time(h, m) for h, m in parts))


NSE_SPECIAL_SESSIONS: tuple[SpecialSession, ...] = (
    SpecialSession(
        date(2025, 10, 21),
        "Muhurat trading",
        _times((13, 30), (13, 38), (13, 45), (14, 45), (14, 55), (15, 5)),
    ),
    SpecialSession(
        date(2026, 11, 8),
        "Muhurat trading",
        _times((17, 45), (17, 53), (18, 0), (19, 0), (19, 10), (19, 20)),
        provisional=True,
    ),
)


class ExchangeCalendar:
    """Holidays and sessions of one exchange; weekends are closed unless a special session."""

    def __init__(
        self,
        holidays: Iterable[Holiday],
        special_sessions: Iterable[SpecialSession] = (),
        normal: SessionTimes = NORMAL_SESSION,
    ) -> None:
        self._holidays: Mapping[date, Holiday] = MappingProxyType({h.day: h for h in holidays})
        self._special: Mapping[date, SpecialSession] = MappingProxyType(
            {s.day: s for s in special_sessions}
        )
        self._normal = normal

    def holidays(self, year: int | None = None) -> tuple[Holiday, ...]:
        """The listed holidays in date order (of one ``year`` if given; weekends not listed)."""
        return tuple(h for d, h in sorted(self._holidays.items()) if year is None or d.year == year)

    def special_sessions(self) -> tuple[SpecialSession, ...]:
        """The special sessions in date order."""
        return tuple(s for _, s in sorted(self._special.items()))

    def without_holidays(self, days: Iterable[date]) -> ExchangeCalendar:
        """A copy in which the listed holidays on ``days`` are normal trading days.

        For simulations and what-if runs that need a session on a listed holiday; the
        special sessions and the normal session timings are kept.
        """
        opened = frozenset(days)
        return ExchangeCalendar(
            (h for d, h in self._holidays.items() if d not in opened),
            self._special.values(),
            self._normal,
        )

    @property
    def normal_session(self) -> SessionTimes:
        """The timings of a normal trading day."""
        return self._normal

    def holiday(self, day: date) -> Holiday | None:
        """The listed holiday on ``day`` (weekends are not listed)."""
        return self._holidays.get(day)

    def special_session(self, day: date) -> SpecialSession | None:
        return self._special.get(day)

    def closed_reason(self, day: date) -> str | None:
        """Why ``day`` has no session at all, or ``None`` if it has one."""
        if day in self._special:
            return None
        hol = self._holidays.get(day)
        if hol is not None:
            return f"{hol.name} (exchange holiday{', provisional list' if hol.provisional else ''})"
        if day.weekday() >= 5:
            return f"weekend ({day.strftime('%A')})"
        return None

    def session(self, day: date) -> Session | None:
        """The session on ``day``: a special session, a normal one, or ``None`` if closed."""
        special = self._special.get(day)
        if special is not None:
            return Session(day, SessionKind.SPECIAL, special.times, special.name)
        if self.closed_reason(day) is not None:
            return None
        return Session(day, SessionKind.NORMAL, self._normal)

    def is_trading_day(self, day: date) -> bool:
        return self.session(day) is not None

    def next_trading_day(self, day: date) -> date:
        """The first date after ``day`` with a normal session (special sessions skipped)."""
        candidate = day + timedelta(days=1)
        for _ in range(30):
            if self.session(candidate) is not None and candidate not in self._special:
                return candidate
            candidate += timedelta(days=1)
        raise LookupError(f"no trading day within 30 days after {day.isoformat()}")


NSE_CALENDAR = ExchangeCalendar(NSE_HOLIDAYS, NSE_SPECIAL_SESSIONS)

CALENDARS: Mapping[str, ExchangeCalendar] = MappingProxyType(
    {"NSE": NSE_CALENDAR, "BSE": NSE_CALENDAR}
)


def calendar_for(exchange: str) -> ExchangeCalendar:
    """The calendar of ``exchange`` (``NSE`` or ``BSE``; they share the equity holidays)."""
    try:
        return CALENDARS[exchange.upper()]
    except KeyError:
        known = sorted(CALENDARS)
        raise KeyError(f"no calendar for exchange {exchange!r}; known: {known}") from None
