"""What a feed tick must satisfy to enter the platform, and the session window it is checked in.

Both feed decoders (:mod:`quant.upstox.wire`: the native ``quant_wire`` and the upb one)
check every decoded feed against one :class:`TickBounds` and apply the same rules in the
same order, so they accept the same ticks and give the same reason for each rejection.
:class:`FeedChecks` (held by :class:`quant.upstox.feed.UpstoxFeedClient`) builds the
bounds for a frame from the configured :class:`TickLimits`, the exchange calendar and
the receive time; :class:`RejectionLog` logs rejections at most once per interval.

The rules, per feed entry of a frame, the first failing one naming the reason (a rejected
tick is dropped with its greeks; the other ticks of the frame are kept):

1. ``unknown_key``: the instrument key is not subscribed on the connection.
2. ``timestamp``: the frame's ``currentTs`` (the tick's ``ts_event``) lies outside
   ``[ts_lo_ms, ts_hi_ms]``; or ``ltt`` or an OHLC bar's ``ts`` is non-zero (zero: none)
   and lies outside ``[ltt_lo_ms, ts_hi_ms]`` (a last trade may be days old).
3. ``price`` / ``price_band``: ``ltp`` must be at least one paisa; ``cp``, ``atp``, the
   depth levels' bid and ask prices and the OHLC prices may be zero (absent) but not
   negative; none may be non-finite (``price``) or above ``max_price_paise``
   (``price_band``). Prices are checked in paise as the decoders round them:
   ``p = rupees * 100 + 0.5``, accepted when ``1 <= p`` (``0 <= rupees`` if optional)
   and ``p < max_price_paise + 1``; NaN fails every comparison.
4. ``quantity``: ``ltq``, ``vtt``, ``oi``, ``tbq``, ``tsq``, the depth quantities and the
   OHLC volumes must lie in ``[0, max_quantity]`` (the doubles ``oi``/``tbq``/``tsq``:
   finite, ``0 <= q < max_quantity + 1``, then truncated).
5. ``greeks``: an accepted tick's option greeks (and ``iv``) must all be finite, else the
   greeks event alone is dropped.

Order within a tick: timestamps ``currentTs``, ``ltt``, then each bar's ``ts``; prices
``ltp``, ``cp``, ``atp``, then per depth level bid then ask, then per bar open, high, low,
close; quantities ``ltq``, ``vtt``, ``oi``, ``tbq``, ``tsq``, then per level bid then ask
quantity, then per bar the volume. A feed entry without a payload yields nothing.

The session window (:meth:`FeedChecks.bounds`): for the receive time's IST date ``d``,
from the pre-open start of the last trading day before ``d`` to the closing-session end
of the first trading day after ``d``, widened by ``window_margin_minutes`` on each side.
It admits today's session, the previous one (a snapshot's last trade before the open)
and the next one (a clock running ahead, like the simulator before its day starts), and
refuses timestamps days or years away and zero or negative ones. With
``TickLimits.session_window`` off, timestamps need only be positive.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from quant.core.calendar import ExchangeCalendar, calendar_for
from quant.core.clock import IST, NS_PER_MS, NS_PER_SECOND, datetime_to_ns, ns_to_datetime

log = logging.getLogger(__name__)

REASONS: Final = ("unknown_key", "timestamp", "price", "price_band", "quantity", "greeks")
"""Every rejection reason, in the order of the rules above."""

_I64_MIN: Final = -(2**63)
_I64_MAX: Final = 2**63 - 1


class TickLimits(BaseModel):
    """The configurable bands (``QUANT_TICK_LIMITS__...`` in the ingestor's settings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_price_rupees: int = Field(default=10_000_000, gt=0, le=10**12)
    """No Indian instrument trades above ₹1 crore (MRF, the dearest stock, is ~₹1.5 lakh)."""
    max_quantity: int = Field(default=10**12, gt=0, le=2**53 - 1)
    """Above any day's volume or open interest of any instrument."""
    window_margin_minutes: int = Field(default=60, ge=0, le=24 * 60)
    ltt_lookback_days: int = Field(default=30, ge=0, le=3650)
    """How much older than the window a last-trade or bar time may be (illiquid contracts)."""
    exchange: str = "NSE"
    session_window: bool = True
    """``False``: timestamps need only be positive (a replay, or a simulator running a
    fixed date while the platform's clock is the wall clock)."""


@dataclass(frozen=True, slots=True)
class TickBounds:
    """What one frame's feeds are checked against (the decoders' input; ms and paise)."""

    max_price_paise: int
    max_quantity: int
    ts_lo_ms: int = _I64_MIN
    ts_hi_ms: int = _I64_MAX
    ltt_lo_ms: int = _I64_MIN
    known: Collection[str] | None = None
    """The subscribed instrument keys (a live view is fine); ``None`` accepts any key."""

    def as_native(self) -> tuple[int, int, int, int, int, Collection[str] | None]:
        """The tuple ``quant_wire.decode_frame`` takes as ``bounds``."""
        return (
            self.max_price_paise,
            self.max_quantity,
            self.ts_lo_ms,
            self.ts_hi_ms,
            self.ltt_lo_ms,
            self.known,
        )


def value_bounds(limits: TickLimits | None = None) -> TickBounds:
    """Value checks only: any key, any timestamp (decoding outside a running feed)."""
    limits = limits or TickLimits()
    return TickBounds(limits.max_price_rupees * 100, limits.max_quantity)


DEFAULT_BOUNDS: Final = value_bounds()


class FeedChecks:
    """Builds each frame's :class:`TickBounds` (window cached per IST date)."""

    def __init__(
        self, limits: TickLimits | None = None, calendar: ExchangeCalendar | None = None
    ) -> None:
        self.limits = limits or TickLimits()
        self._calendar = calendar or calendar_for(self.limits.exchange)
        self._day_lo_ns = 0
        self._day_hi_ns = -1
        self._window: tuple[int, int, int] = (0, 0, 0)

    def window_ms(self, now_ns: int) -> tuple[int, int, int]:
        """``(ts_lo_ms, ts_hi_ms, ltt_lo_ms)`` for a frame received at ``now_ns``."""
        if not self.limits.session_window:
            return (1, _I64_MAX, 1)
        if not self._day_lo_ns <= now_ns < self._day_hi_ns:
            self._compute(now_ns)
        return self._window

    def _compute(self, now_ns: int) -> None:
        day = ns_to_datetime(now_ns, IST).date()
        start = datetime.combine(day, time(0), tzinfo=IST)
        self._day_lo_ns = datetime_to_ns(start)
        self._day_hi_ns = datetime_to_ns(start + timedelta(days=1))
        cal = self._calendar
        prev = day - timedelta(days=1)
        for _ in range(30):
            if cal.is_trading_day(prev):
                break
            prev -= timedelta(days=1)
        nxt = day + timedelta(days=1)
        for _ in range(30):
            if cal.is_trading_day(nxt):
                break
            nxt += timedelta(days=1)
        first = cal.session(prev)
        last = cal.session(nxt)
        lo_t = first.times.pre_open_start if first is not None else time(0)
        hi_t = last.times.closing_end if last is not None else time(23, 59)
        margin = self.limits.window_margin_minutes * 60 * NS_PER_SECOND
        lo = datetime_to_ns(datetime.combine(prev, lo_t, tzinfo=IST)) - margin
        hi = datetime_to_ns(datetime.combine(nxt, hi_t, tzinfo=IST)) + margin
        lookback = self.limits.ltt_lookback_days * 86_400 * NS_PER_SECOND
        self._window = (lo // NS_PER_MS, hi // NS_PER_MS, (lo - lookback) // NS_PER_MS)

    def bounds(self, now_ns: int, known: Collection[str] | None) -> TickBounds:
        """The bounds for a frame received at ``now_ns`` on a connection holding ``known``."""
        lo, hi, ltt_lo = self.window_ms(now_ns)
        limits = self.limits
        return TickBounds(limits.max_price_rupees * 100, limits.max_quantity, lo, hi, ltt_lo, known)


class RejectionLog:
    """Counts rejections by reason and logs a summary at most once per ``interval_s``."""

    def __init__(
        self, interval_s: float = 10.0, name: str = "feed", counts: Counter[str] | None = None
    ) -> None:
        self.counts: Counter[str] = Counter() if counts is None else counts
        self._interval_ns = int(interval_s * NS_PER_SECOND)
        self._name = name
        self._pending: Counter[str] = Counter()
        self._example: tuple[str, str] | None = None
        self._last_log_ns: int | None = None

    def add(self, rejected: Iterable[tuple[str, str]], now_ns: int) -> None:
        """Record one frame's ``(instrument_key, reason)`` rejections; maybe log."""
        for key, reason in rejected:
            self.counts[reason] += 1
            self._pending[reason] += 1
            if self._example is None:
                self._example = (key, reason)
        if not self._pending:
            return
        if self._last_log_ns is not None and now_ns - self._last_log_ns < self._interval_ns:
            return
        self._last_log_ns = now_ns
        summary = ", ".join(f"{r}={n}" for r, n in sorted(self._pending.items()))
        key, reason = self._example or ("?", "?")
        log.warning(
            "%s: dropped out-of-range feed ticks (%s; e.g. %r: %s); totals %s",
            self._name,
            summary,
            key[:64],
            reason,
            dict(self.counts),
        )
        self._pending.clear()
        self._example = None
