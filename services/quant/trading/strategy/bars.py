"""Bars for strategies: 1-minute candles from ticks, and IST-aligned N-minute bars from those.

``BarBuilder(minutes)`` aggregates 1-minute ``Candle``s into N-minute bars aligned to the
session open: buckets start at 09:15 IST and every N minutes after it (a 60-minute bar is
09:15-10:15, as Indian charts draw them), and the day's last bucket ends at the session
close (15:30 IST): with N = 60 it is 15:15-15:30. One-minute candles before the open fall
into buckets counted back from 09:15. A bar is handed out as soon as it is complete: when
the candle of its last minute arrives, when a candle of a later bucket arrives, or when
``close_due(now)`` finds its end passed (a quiet instrument whose last minutes had no
trade). Open is the first candle's open, high/low the extremes, close the last candle's
close, volume and trade count the sums, OI the last. A candle at or before a minute
already taken for that instrument (a duplicate or a late one) is ignored and counted in
``dropped``. ``interval_seconds`` of a bar is N x 60, its ``ts_start`` the bucket start
(UTC ns).

``MinuteBarBuilder`` makes the 1-minute candles from ticks when the feature engine's candles
are not fed, by the engine's rules (``quant.analytics.candles`` and ``features``): the
minute is the tick's ``ts_event`` floored to the minute; OHLC from ``ltp`` (ticks with
``ltp <= 0`` are left out); volume is the sum of trade quantities, a tick's trade quantity
being the increase of the cumulative day volume since the previous tick that carried one
(the day's first such tick sets the baseline; a decrease is a counter reset and counts the
new value), or for LTPC ticks (no cumulative volume) its ``ltq`` when its last-trade time
moved on; ``trade_count`` counts the ticks with a trade; OI is the last.

Pure Python, no numpy: the strategy domain imports ``quant.core`` and ``quant.trading`` only.
"""

from __future__ import annotations

from datetime import time

from quant.core.clock import NS_PER_SECOND
from quant.core.events import Candle, FeedMode, Tick

IST_OFFSET_NS = (5 * 3600 + 30 * 60) * NS_PER_SECOND
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_DAY = 86_400 * NS_PER_SECOND
SESSION_OPEN = time(9, 15)
SESSION_CLOSE = time(15, 30)


def _offset_ns(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * NS_PER_SECOND


def ist_day_start(ts_ns: int) -> int:
    """00:00 IST of the IST day containing ``ts_ns`` (UTC ns)."""
    return ts_ns - (ts_ns + IST_OFFSET_NS) % NS_PER_DAY


class _Open:
    """The bar being built for one instrument (mutable; internal)."""

    __slots__ = ("close", "count", "end", "high", "last", "low", "oi", "open", "start", "volume")

    def __init__(self, start: int, end: int, c: Candle) -> None:
        self.start, self.end, self.last = start, end, c.ts_start
        self.open, self.high, self.low, self.close = c.open, c.high, c.low, c.close
        self.volume, self.oi, self.count = c.volume, c.oi, c.trade_count

    def merge(self, c: Candle) -> None:
        self.last = c.ts_start
        self.high = max(self.high, c.high)
        self.low = min(self.low, c.low)
        self.close = c.close
        self.volume += c.volume
        self.oi = c.oi
        self.count += c.trade_count

    def candle(self, key: str, interval_seconds: int) -> Candle:
        return Candle(
            key,
            interval_seconds,
            self.start,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.oi,
            self.count,
        )


class BarBuilder:
    """1-minute candles in, IST-aligned N-minute bars out; see the module docstring."""

    def __init__(
        self,
        minutes: int,
        *,
        session_open: time = SESSION_OPEN,
        session_close: time = SESSION_CLOSE,
    ) -> None:
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 375:
            raise ValueError(f"bar minutes must be a whole number 1..375, got {minutes!r}")
        if session_close <= session_open:
            raise ValueError(f"session close {session_close} is not after open {session_open}")
        self.minutes = minutes
        self.interval_seconds = minutes * 60
        self._interval_ns = minutes * NS_PER_MINUTE
        self._open_ns = _offset_ns(session_open)
        self._close_ns = _offset_ns(session_close)
        self._bars: dict[str, _Open] = {}
        self._taken: dict[str, int] = {}  # per instrument: the last minute taken
        self.dropped = 0

    def bucket(self, ts_ns: int) -> tuple[int, int]:
        """(start, end) of the bar containing the minute that starts at ``ts_ns``."""
        day = ist_day_start(ts_ns)
        origin = day + self._open_ns
        start = origin + (ts_ns - origin) // self._interval_ns * self._interval_ns
        end = start + self._interval_ns
        close = day + self._close_ns
        if start < close < end:
            end = close
        return start, end

    def add(self, candle: Candle) -> list[Candle]:
        """Take one 1-minute candle; returns the bars it completed (0, 1 or 2)."""
        if candle.interval_seconds != 60:
            raise ValueError(
                f"BarBuilder takes 1-minute candles, got interval_seconds="
                f"{candle.interval_seconds} for {candle.instrument_key}"
            )
        key, ts = candle.instrument_key, candle.ts_start
        taken = self._taken.get(key)
        if taken is not None and ts <= taken:
            self.dropped += 1
            return []
        self._taken[key] = ts
        out: list[Candle] = []
        bar = self._bars.get(key)
        start, end = self.bucket(ts)
        if bar is not None and bar.start != start:
            out.append(bar.candle(key, self.interval_seconds))
            bar = None
        if bar is None:
            bar = self._bars[key] = _Open(start, end, candle)
        else:
            bar.merge(candle)
        if ts + NS_PER_MINUTE >= bar.end:
            out.append(bar.candle(key, self.interval_seconds))
            del self._bars[key]
        return out

    def close_due(self, now_ns: int) -> list[Candle]:
        """The open bars whose end is at or before ``now_ns``, closed (by start, instrument)."""
        done = sorted((b.start, k) for k, b in self._bars.items() if b.end <= now_ns)
        return [self._bars.pop(k).candle(k, self.interval_seconds) for _, k in done]

    def next_due_ns(self) -> int | None:
        """The earliest end of an open bar (when ``close_due`` would next close one)."""
        return min((b.end for b in self._bars.values()), default=None)

    def flush(self) -> list[Candle]:
        """Close every open bar (end of data), by start then instrument."""
        done = sorted((b.start, k) for k, b in self._bars.items())
        return [self._bars.pop(k).candle(k, self.interval_seconds) for _, k in done]


class _Volume:
    """Per instrument: what the trade quantity of its next tick is measured from."""

    __slots__ = ("day", "last_ltt", "last_volume")

    def __init__(self, day: int) -> None:
        self.day, self.last_volume, self.last_ltt = day, -1, 0


class MinuteBarBuilder:
    """Ticks in, 1-minute candles out; see the module docstring."""

    def __init__(self) -> None:
        self._bars: dict[str, _Open] = {}
        self._volume: dict[str, _Volume] = {}

    def trade_quantity(self, tick: Tick) -> int:
        """The tick's trade quantity (and the baseline for the next tick moved on)."""
        day = (tick.ts_event + IST_OFFSET_NS) // NS_PER_DAY
        v = self._volume.get(tick.instrument_key)
        if v is None or v.day != day:
            v = self._volume[tick.instrument_key] = _Volume(day)
        if tick.mode is not FeedMode.LTPC:
            prev, v.last_volume = v.last_volume, tick.volume
            if prev < 0:
                return 0
            return tick.volume - prev if tick.volume >= prev else tick.volume
        prev_ltt = v.last_ltt
        if tick.ltt_ns > prev_ltt:
            v.last_ltt = tick.ltt_ns
            return tick.ltq if prev_ltt > 0 else 0
        return 0

    def add(self, tick: Tick) -> list[Candle]:
        """Take one tick (in time order per instrument); returns the candle it closed, if any."""
        qty = self.trade_quantity(tick)
        if tick.ltp <= 0:
            return []
        key = tick.instrument_key
        minute = tick.ts_event - (tick.ts_event % NS_PER_MINUTE)
        c = Candle(key, 60, minute, tick.ltp, tick.ltp, tick.ltp, tick.ltp, qty, tick.oi,
                   1 if qty > 0 else 0)  # fmt: skip
        bar = self._bars.get(key)
        if bar is None:
            self._bars[key] = _Open(minute, minute + NS_PER_MINUTE, c)
            return []
        if minute == bar.start:
            bar.merge(c)
            return []
        if minute < bar.start:  # a late tick: its trade counts, its price is history
            bar.volume += qty
            bar.count += c.trade_count
            return []
        self._bars[key] = _Open(minute, minute + NS_PER_MINUTE, c)
        return [bar.candle(key, 60)]

    def close_due(self, now_ns: int) -> list[Candle]:
        """The candles whose minute ended at or before ``now_ns``, closed (by start, key)."""
        done = sorted((b.start, k) for k, b in self._bars.items() if b.end <= now_ns)
        return [self._bars.pop(k).candle(k, 60) for _, k in done]

    def next_due_ns(self) -> int | None:
        """The earliest end of an open candle."""
        return min((b.end for b in self._bars.values()), default=None)

    def flush(self) -> list[Candle]:
        """Close every open candle (end of data)."""
        done = sorted((b.start, k) for k, b in self._bars.items())
        return [self._bars.pop(k).candle(k, 60) for _, k in done]
