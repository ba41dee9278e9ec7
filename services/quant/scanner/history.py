"""The stored history a live cycle reads, as arrays over the scanned names (numpy; no I/O
here: the reads go through a :class:`~quant.scanner.ports.CandleReader`).

* :func:`load_daily`: the previous sessions' daily candles -> (n, D) high/low/close/volume,
  one column per trading day of the calendar (a day a name has no candle is NaN).
* :class:`VolumeProfile`: the previous sessions' one-minute volumes -> cumulative volume
  by minute of the session, so a cycle gets "volume up to this minute on each of the last
  L sessions" (the relative-volume baseline) by indexing.
* :class:`Intraday`: today's one-minute closes on a minute grid from the session's open,
  filled from the stored candles and from each cycle's quotes (a cycle's last price is the
  close of the minute that just ended), and the opening range: from the first
  ``or_minutes`` stored bars when all are there, else from the day high/low of the quotes
  taken when the range ended.

Prices come in paise and leave in rupees (float, signal math only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

from quant.analytics.scanner_signals import FloatArray
from quant.core.calendar import ExchangeCalendar
from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns
from quant.scanner.ports import CandleReader
from quant.scanner.schedule import session_open_close
from quant.store.tables import CandleBatch

DAY_SECONDS = 86_400
MINUTE_NS = 60 * NS_PER_SECOND
_IST_OFFSET_NS = 19_800 * NS_PER_SECOND


def midnight_ns(day: date) -> int:
    """00:00 IST of ``day`` (where daily candles start), UTC ns."""
    return datetime_to_ns(datetime.combine(day, time(0, 0), tzinfo=IST))


def _epoch_days(ts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The IST calendar day of each UTC-ns instant, as days since 1970-01-01."""
    out: npt.NDArray[np.int64] = (ts + _IST_OFFSET_NS) // (DAY_SECONDS * NS_PER_SECOND)
    return out


def _epoch_day(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _rows(batch: CandleBatch, index: dict[str, int]) -> npt.NDArray[np.int64]:
    return np.fromiter((index.get(k, -1) for k in batch.instrument_key), np.int64, len(batch))


def _columns(batch: CandleBatch, days: Sequence[date]) -> npt.NDArray[np.int64]:
    """Each candle's column in ``days`` (by its IST day), -1 when it is on another day."""
    if not days:
        return np.full(len(batch), -1, dtype=np.int64)
    first = _epoch_day(days[0])
    offsets = np.array([_epoch_day(d) - first for d in days], dtype=np.int64)
    span = int(offsets[-1]) + 1
    lookup = np.full(span, -1, dtype=np.int64)
    lookup[offsets] = np.arange(len(days))
    rel = _epoch_days(batch.ts) - first
    ok = (rel >= 0) & (rel < span)
    out: npt.NDArray[np.int64] = np.where(ok, lookup[np.clip(rel, 0, span - 1)], -1)
    return out


@dataclass(frozen=True)
class DailyHistory:
    """The previous sessions of the scanned names, one column per day of ``days``."""

    days: tuple[date, ...]
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def last_close(self) -> FloatArray:
        """Each name's newest known close (NaN when none)."""
        known = ~np.isnan(self.close)
        n, d = self.close.shape
        if d == 0:
            return np.full(n, np.nan)
        last = d - 1 - np.argmax(known[:, ::-1], axis=1)
        out: FloatArray = np.where(known.any(axis=1), self.close[np.arange(n), last], np.nan)
        return out


def load_daily(reader: CandleReader, keys: Sequence[str], days: Sequence[date]) -> DailyHistory:
    """The daily candles of ``keys`` on ``days`` (trading days, oldest first)."""
    n, d = len(keys), len(days)
    arrays = [np.full((n, d), np.nan) for _ in range(4)]
    if n and d:
        batch = reader.candle_batch(
            keys, midnight_ns(days[0]), midnight_ns(days[-1] + timedelta(days=1)), DAY_SECONDS
        )
        rows = _rows(batch, {k: i for i, k in enumerate(keys)})
        cols = _columns(batch, days)
        ok = (rows >= 0) & (cols >= 0)
        r, c = rows[ok], cols[ok]
        for out, values, scale in zip(
            arrays,
            (batch.high, batch.low, batch.close, batch.volume),
            (100.0, 100.0, 100.0, 1.0),
            strict=True,
        ):
            out[r, c] = values[ok] / scale
    high, low, close, volume = arrays
    return DailyHistory(tuple(days), high, low, close, volume)


class VolumeProfile:
    """Cumulative one-minute volume by minute of session on the previous L sessions."""

    def __init__(self, cumulative: npt.NDArray[np.float32]) -> None:
        self._cum = cumulative  # (n, L, M); NaN for a session a name has no minute data of

    @property
    def sessions(self) -> int:
        return int(self._cum.shape[1])

    def at(self, minutes: int) -> FloatArray:
        """(n, L): volume of the first ``minutes`` minutes of each session (NaN before the
        first minute has ended)."""
        n, sessions, m = self._cum.shape
        if minutes <= 0 or m == 0:
            return np.full((n, sessions), np.nan)
        out: FloatArray = self._cum[:, :, min(minutes, m) - 1].astype(np.float64)
        return out

    @classmethod
    def empty(cls, n: int, sessions: int) -> VolumeProfile:
        return cls(np.full((n, sessions, 0), np.nan, dtype=np.float32))

    @classmethod
    def load(
        cls,
        reader: CandleReader,
        keys: Sequence[str],
        days: Sequence[date],
        calendar: ExchangeCalendar,
    ) -> VolumeProfile:
        """From the stored one-minute candles of ``keys`` on ``days`` (oldest first)."""
        n, d = len(keys), len(days)
        opens = []
        length = 0
        for day in days:
            session = calendar.session(day)
            if session is None:
                raise ValueError(f"{day.isoformat()} has no session")
            open_ns, close_ns = session_open_close(session)
            opens.append(open_ns)
            length = max(length, (close_ns - open_ns) // MINUTE_NS)
        if not (n and d):
            return cls.empty(n, d)
        batch = reader.candle_batch(
            keys, midnight_ns(days[0]), midnight_ns(days[-1] + timedelta(days=1)), 60
        )
        rows = _rows(batch, {k: i for i, k in enumerate(keys)})
        cols = _columns(batch, days)
        minute = (batch.ts - np.asarray(opens, dtype=np.int64)[np.clip(cols, 0, d - 1)]) // (
            MINUTE_NS
        )
        ok = (rows >= 0) & (cols >= 0) & (minute >= 0) & (minute < length)
        r, c, m = rows[ok], cols[ok], minute[ok]
        volume = np.zeros((n, d, length), dtype=np.float32)
        np.add.at(volume, (r, c, m), batch.volume[ok].astype(np.float32))
        seen = np.zeros((n, d), dtype=bool)
        seen[r, c] = True
        cum = np.cumsum(volume, axis=2, dtype=np.float32)
        cum[~seen] = np.nan
        return cls(cum)


class Intraday:
    """Today's minute closes and opening range of the scanned names (see the module)."""

    def __init__(self, n: int, open_ns: int, close_ns: int, or_minutes: int) -> None:
        self.open_ns = open_ns
        self.length = max(0, (close_ns - open_ns) // MINUTE_NS)
        self.or_minutes = or_minutes
        self.read_until_ns = open_ns  # stored candles read up to here
        self._close = np.full((n, self.length), np.nan)
        self._or_bars = np.zeros((n, or_minutes), dtype=bool)
        self._or_high = np.full(n, -np.inf)
        self._or_low = np.full(n, np.inf)
        self._quoted_high = np.full(n, np.nan)
        self._quoted_low = np.full(n, np.nan)

    def minutes_at(self, now_ns: int) -> int:
        """How many whole minutes of the session have ended at ``now_ns``."""
        return int(min(max(0, (now_ns - self.open_ns) // MINUTE_NS), self.length))

    def add_candles(self, batch: CandleBatch, index: dict[str, int]) -> None:
        """Today's stored one-minute candles (any order; re-adding one is harmless)."""
        rows = _rows(batch, index)
        minute = (batch.ts - self.open_ns) // MINUTE_NS
        ok = (rows >= 0) & (minute >= 0) & (minute < self.length)
        r, m = rows[ok], minute[ok]
        self._close[r, m] = batch.close[ok] / 100.0
        in_range = m < self.or_minutes
        r_or, m_or = r[in_range], m[in_range]
        self._or_bars[r_or, m_or] = True
        np.maximum.at(self._or_high, r_or, batch.high[ok][in_range] / 100.0)
        np.minimum.at(self._or_low, r_or, batch.low[ok][in_range] / 100.0)

    def add_quotes(
        self, now_ns: int, last: FloatArray, day_high: FloatArray, day_low: FloatArray
    ) -> None:
        """One cycle's quotes: ``last`` closes the minute that just ended (where no stored
        candle says otherwise); the day's high/low at the end of the opening range is the
        range (kept for the rest of the day)."""
        e = self.minutes_at(now_ns)
        if e >= 1:
            column = self._close[:, e - 1]
            self._close[:, e - 1] = np.where(np.isnan(column), last, column)
        or_end = self.open_ns + self.or_minutes * MINUTE_NS
        if or_end <= now_ns < or_end + MINUTE_NS:
            self._quoted_high = np.where(np.isnan(self._quoted_high), day_high, self._quoted_high)
            self._quoted_low = np.where(np.isnan(self._quoted_low), day_low, self._quoted_low)

    def opening_range(self, now_ns: int) -> tuple[FloatArray, FloatArray]:
        """(high, low) of the first ``or_minutes`` minutes; NaN until they have ended and
        for a name neither its stored bars nor a quote at the range's end give."""
        n = self._close.shape[0]
        if self.minutes_at(now_ns) < self.or_minutes:
            return np.full(n, np.nan), np.full(n, np.nan)
        stored = self._or_bars.all(axis=1)
        high = np.where(stored, self._or_high, self._quoted_high)
        low = np.where(stored, self._or_low, self._quoted_low)
        return high, low

    def minute_close(self, now_ns: int) -> FloatArray:
        """(n, M): the closes of the minutes ended by ``now_ns``, oldest first."""
        out: FloatArray = self._close[:, : self.minutes_at(now_ns)]
        return out
