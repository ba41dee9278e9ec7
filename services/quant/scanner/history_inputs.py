"""Scanner inputs from stored candles: :class:`ScanInputs` at any time T of a session.

``quant scanner evaluate`` replays history with it (quotes replaced by the one-minute
candles up to T). Everything comes from stored candles through the
scanner's :class:`~quant.scanner.ports.CandleReader` (the tick store's bulk
``candle_batch``; :class:`~quant.scanner.adapters.StoreCandles` wraps any ``TickReader``):
daily candles (``interval_seconds=86400``, ``ts_start`` at 00:00 IST) and one-minute
candles (``interval_seconds=60``), one read per range for all names, then numpy.

At T, with ``m`` one-minute bars of the session complete (``ts_start + 60 s <= T``):

* ``last`` is the close of the last complete bar (forward-filled over minutes without a
  bar); ``volume`` the cumulative volume; ``vwap`` the volume-weighted typical price
  ``(high + low + close) / 3``; ``day_open`` the first bar's open; the opening range the
  high/low of the first ``or_minutes`` bars (NaN until they are complete);
* ``same_time_volume[:, l]`` the cumulative volume of the l-th previous session over its
  first ``m`` bars (minute-of-session aligned; NaN where the name had no bar that day);
* the daily arrays the previous ``history_days`` sessions: stored day candles, a session
  without a stored day candle taken from its one-minute bars (read for those names only);
* the index (NIFTY 50) row is built the same way and split off.

Which days are sessions comes from the data: the days on which the index has stored
candles (the simulator opens listed holidays); the exchange calendar only when the index
has none. Prices are rupees as float64 (signal math only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

from quant.analytics.scanner_signals import ScanInputs
from quant.core.calendar import ExchangeCalendar, SessionTimes
from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns
from quant.scanner.ports import CandleReader
from quant.store.tables import CandleBatch

F = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

NIFTY_50 = "NSE_INDEX|Nifty 50"
DAY_SECONDS = 86_400
MINUTE_NS = 60 * NS_PER_SECOND
_DAY_NS = DAY_SECONDS * NS_PER_SECOND
_IST_OFFSET_NS = int(5.5 * 3600) * NS_PER_SECOND
_EPOCH = date(1970, 1, 1)


def ist_midnight_ns(day: date) -> int:
    """00:00 IST of ``day`` as UTC ns (where day candles start)."""
    return datetime_to_ns(datetime.combine(day, time(0), tzinfo=IST))


def _day_number(day: date) -> int:
    return (day - _EPOCH).days


def _day_numbers(ts_ns: I64) -> I64:
    """IST calendar day (days since 1970-01-01) of UTC-ns timestamps."""
    return (ts_ns + _IST_OFFSET_NS) // _DAY_NS


def session_times(calendar: ExchangeCalendar, day: date) -> SessionTimes:
    """The day's session timings; a day the calendar closes (a simulator's opened
    holiday) gets the normal session's."""
    session = calendar.session(day)
    return session.times if session is not None else calendar.normal_session


def session_days(
    reader: CandleReader,
    start: date,
    end: date,
    *,
    calendar: ExchangeCalendar,
    index_key: str = NIFTY_50,
) -> list[date]:
    """The session days in ``[start, end]``: days on which ``index_key`` has stored day
    or one-minute candles; the calendar's trading days if the index has none at all."""
    lo, hi = ist_midnight_ns(start), ist_midnight_ns(end + timedelta(days=1))
    days: set[int] = set()
    for interval in (DAY_SECONDS, 60):
        batch = reader.candle_batch([index_key], lo, hi, interval)
        if len(batch):
            days.update(int(d) for d in np.unique(_day_numbers(batch.ts)))
    if days:
        return [_EPOCH + timedelta(days=d) for d in sorted(days)]
    out: list[date] = []
    day = start
    while day <= end:
        if calendar.is_trading_day(day):
            out.append(day)
        day += timedelta(days=1)
    return out


def _rows(batch: CandleBatch, keys: Sequence[str]) -> I64:
    """Each candle's position in ``keys`` (-1 for a key not there)."""
    where = {k: i for i, k in enumerate(keys)}
    return np.fromiter((where.get(k, -1) for k in batch.instrument_key), np.int64, len(batch))


def _prices(batch: CandleBatch) -> tuple[F, F, F, F, F]:
    """open, high, low, close in rupees and volume, as float64."""
    return (
        batch.open / 100.0,
        batch.high / 100.0,
        batch.low / 100.0,
        batch.close / 100.0,
        batch.volume.astype(np.float64),
    )


def _ffill(a: F) -> F:
    """Forward-fill NaNs along axis 1 (leading NaNs stay)."""
    n, m = a.shape
    if m == 0:
        return a.copy()
    idx = np.where(np.isnan(a), 0, np.arange(m, dtype=np.int64)[None, :])
    np.maximum.accumulate(idx, axis=1, out=idx)
    return a[np.arange(n)[:, None], idx]


class MinuteBars:
    """One session's one-minute bars of ``n`` names by minute of the session: column k is
    the bar starting ``open_ns + k`` minutes; NaN where a name has no bar."""

    def __init__(
        self, day: date, open_ns: int, open_: F, high: F, low: F, close: F, volume: F
    ) -> None:
        self.day = day
        self.open_ns = open_ns
        self.open, self.high, self.low, self.close, self.volume = open_, high, low, close, volume
        has = ~np.isnan(close)
        self.has_any: npt.NDArray[np.bool_] = np.any(has, axis=1)
        minutes = close.shape[1]
        self.first_bar = np.where(self.has_any, has.argmax(axis=1), minutes)
        self.close_ffill = _ffill(close)
        vol = np.nan_to_num(volume)
        self.cum_volume = np.cumsum(vol, axis=1)
        typical = np.nan_to_num((high + low + close) / 3.0)
        self.cum_pv = np.cumsum(typical * vol, axis=1)
        rows = np.arange(close.shape[0])
        first = np.minimum(self.first_bar, max(minutes - 1, 0))
        self.first_open = np.where(self.has_any, open_[rows, first], np.nan)

    @property
    def names(self) -> int:
        return int(self.close.shape[0])

    @property
    def minutes(self) -> int:
        return int(self.close.shape[1])

    def complete(self, at_ns: int) -> int:
        """How many bars are complete at ``at_ns`` (0 .. minutes)."""
        return int(min(max((at_ns - self.open_ns) // MINUTE_NS, 0), self.minutes))

    def close_at(self, m: int) -> F:
        """Last close over the first ``m`` bars (NaN before a name's first bar)."""
        if m <= 0:
            return np.full(self.names, np.nan)
        return self.close_ffill[:, min(m, self.minutes) - 1]

    def volume_at(self, m: int, *, traded_day: bool) -> F:
        """Cumulative volume over the first ``m`` bars. ``traded_day``: a name with a bar
        anywhere that day counts 0 before its first bar (a past session); else NaN until
        its first bar (today, whose future is unknown)."""
        m = min(m, self.minutes)
        cum = self.cum_volume[:, m - 1] if m > 0 else np.zeros(self.names)
        known = self.has_any if traded_day else self.first_bar < m
        return np.where(known, cum, np.nan)

    def day_summary(self) -> tuple[F, F, F, F, F]:
        """The session as a day candle per name: open, high, low, close, volume (NaN when
        a name has no bar)."""
        with np.errstate(all="ignore"):
            hi = np.where(self.has_any, np.nanmax(np.nan_to_num(self.high, nan=-np.inf), 1), np.nan)
            lo = np.where(self.has_any, np.nanmin(np.nan_to_num(self.low, nan=np.inf), 1), np.nan)
        close = self.close_at(self.minutes)
        vol = np.where(self.has_any, self.cum_volume[:, -1] if self.minutes else 0.0, np.nan)
        return self.first_open, hi, lo, close, vol


def load_minute_bars(
    reader: CandleReader,
    keys: Sequence[str],
    days: Sequence[date],
    *,
    calendar: ExchangeCalendar,
) -> list[MinuteBars]:
    """One-minute bars of ``keys`` on each of ``days`` (ascending): one read over the
    whole range, scattered into one :class:`MinuteBars` per day."""
    if not days:
        return []
    bounds = [session_times(calendar, d).bounds_ns(d) for d in days]
    opens = np.array([b.open for b in bounds], dtype=np.int64)
    widths = np.array([max((b.close - b.open) // MINUTE_NS, 0) for b in bounds], np.int64)
    n = len(keys)
    mats = [[np.full((n, int(w)), np.nan) for _ in range(5)] for w in widths]
    batch = reader.candle_batch(keys, bounds[0].open, bounds[-1].close, 60)
    if len(batch):
        day_nums = np.array([_day_number(d) for d in days], dtype=np.int64)
        ts = batch.ts
        bar_days = _day_numbers(ts)
        pos = np.minimum(np.searchsorted(day_nums, bar_days), len(days) - 1)
        minute = (ts - opens[pos]) // MINUTE_NS
        row = _rows(batch, keys)
        ok = (day_nums[pos] == bar_days) & (row >= 0) & (minute >= 0) & (minute < widths[pos])
        values = [v[ok] for v in _prices(batch)]
        row, pos, minute = row[ok], pos[ok], minute[ok]
        for d in np.unique(pos):
            sel = pos == d
            for mat, v in zip(mats[d], values, strict=True):
                mat[row[sel], minute[sel]] = v[sel]
    return [MinuteBars(day, int(opens[j]), *mats[j]) for j, day in enumerate(days)]


@dataclass(frozen=True)
class PriorSession:
    """What a previous session contributes: its day candle per name (from the minute
    bars) and, for the same-time volume, its cumulative volume by minute."""

    day: date
    open: F
    high: F
    low: F
    close: F
    volume: F
    bars: MinuteBars | None

    @classmethod
    def of(cls, bars: MinuteBars, *, keep_minutes: bool = True) -> PriorSession:
        o, h, lo, c, v = bars.day_summary()
        return cls(bars.day, o, h, lo, c, v, bars if keep_minutes else None)

    def volume_at(self, m: int) -> F:
        if self.bars is None:
            return np.full(self.close.shape[0], np.nan)
        return self.bars.volume_at(m, traded_day=True)


@dataclass(frozen=True)
class DailyWindow:
    """The previous D sessions per name, oldest -> newest (NaN where unknown)."""

    high: F
    low: F
    close: F
    volume: F


class DailyCandles:
    """Stored day candles of ``keys`` over a date range: one query per key, kept flat."""

    def __init__(self, rows: I64, days: I64, high: F, low: F, close: F, volume: F, n: int):
        self._rows, self._days = rows, days
        self._values = (high, low, close, volume)
        self.names = n

    @classmethod
    def load(
        cls, reader: CandleReader, keys: Sequence[str], start: date, end: date
    ) -> DailyCandles:
        """Day candles with ``start <= day <= end``."""
        lo, hi = ist_midnight_ns(start), ist_midnight_ns(end + timedelta(days=1))
        batch = reader.candle_batch(keys, lo, hi, DAY_SECONDS)
        row = _rows(batch, keys)
        ok = row >= 0
        _o, h, low, c, v = (x[ok] for x in _prices(batch))
        return cls(row[ok], _day_numbers(batch.ts[ok]), h, low, c, v, len(keys))

    def coverage(self, day: date) -> int:
        """How many names have a stored day candle for ``day``."""
        return int(np.count_nonzero(self._days == _day_number(day)))

    def missing(self, day: date) -> I64:
        """Rows of the names without a stored day candle for ``day``."""
        have = self._rows[self._days == _day_number(day)]
        out: I64 = np.setdiff1d(np.arange(self.names, dtype=np.int64), have)
        return out

    def window(
        self, sessions: Sequence[date], priors: Mapping[date, PriorSession] | None = None
    ) -> DailyWindow:
        """(n, len(sessions)) arrays for ``sessions`` (oldest first); a name without a
        stored day candle for a session takes that session's minute aggregate from
        ``priors`` when it has one."""
        n, d = self.names, len(sessions)
        out = [np.full((n, d), np.nan) for _ in range(4)]
        if d:
            nums = np.array([_day_number(s) for s in sessions], dtype=np.int64)
            order = np.argsort(nums)
            pos = np.searchsorted(nums[order], self._days)
            pos = np.minimum(pos, d - 1)
            hit = nums[order][pos] == self._days
            col = order[pos[hit]]
            for mat, values in zip(out, self._values, strict=True):
                mat[self._rows[hit], col] = values[hit]
        for j, s in enumerate(sessions):
            prior = (priors or {}).get(s)
            if prior is None:
                continue
            for mat, values in zip(
                out, (prior.high, prior.low, prior.close, prior.volume), strict=True
            ):
                gap = np.isnan(mat[:, j])
                mat[gap, j] = values[gap]
        return DailyWindow(*out)


def day_candles_from_minutes(
    reader: CandleReader,
    keys: Sequence[str],
    daily: DailyCandles,
    days: Sequence[date],
    *,
    calendar: ExchangeCalendar,
) -> dict[date, PriorSession]:
    """For the ``days`` on which some names have no stored day candle: those names' day
    candles aggregated from their one-minute bars (one read for them over the days; the
    other rows NaN), to pass to :meth:`DailyCandles.window`."""
    gaps = {d: daily.missing(d) for d in days}
    gaps = {d: rows for d, rows in gaps.items() if rows.size}
    if not gaps:
        return {}
    rows = np.unique(np.concatenate(list(gaps.values())))
    n = len(keys)
    out: dict[date, PriorSession] = {}
    for bars in load_minute_bars(reader, [keys[i] for i in rows], sorted(gaps), calendar=calendar):
        full = []
        for values in bars.day_summary():
            a = np.full(n, np.nan)
            a[rows] = values
            full.append(a)
        o, h, low, c, v = full
        out[bars.day] = PriorSession(bars.day, o, h, low, c, v, None)
    return out


def scan_inputs(
    today: MinuteBars,
    at_ns: int,
    *,
    daily: DailyWindow,
    volume_priors: Sequence[PriorSession],
    or_minutes: int = 15,
) -> ScanInputs:
    """:class:`ScanInputs` at ``at_ns`` from today's bars (index row LAST), the daily
    window of the previous sessions and the previous sessions for the same-time volume
    (oldest first). Every array drops the index row."""
    m = today.complete(at_ns)
    last_all = today.close_at(m)
    volume_all = today.volume_at(m, traded_day=False)
    if m > 0:
        cum_vol = today.cum_volume[:, m - 1]
        with np.errstate(all="ignore"):
            vwap_all = np.where(cum_vol > 0, today.cum_pv[:, m - 1] / cum_vol, np.nan)
    else:
        vwap_all = np.full(today.names, np.nan)
    day_open = np.where(today.first_bar < m, today.first_open, np.nan)
    if 0 < or_minutes <= m:
        with np.errstate(all="ignore"):
            hi = np.nan_to_num(today.high[:, :or_minutes], nan=-np.inf).max(axis=1)
            lo = np.nan_to_num(today.low[:, :or_minutes], nan=np.inf).min(axis=1)
        or_high = np.where(np.isfinite(hi), hi, np.nan)
        or_low = np.where(np.isfinite(lo), lo, np.nan)
    else:
        or_high = or_low = np.full(today.names, np.nan)
    if volume_priors:
        same_time = np.stack([p.volume_at(m) for p in volume_priors], axis=1)
    else:
        same_time = np.empty((today.names, 0))
    k = today.names - 1  # the index row
    prev_close_all = daily.close[:, -1] if daily.close.shape[1] else np.full(today.names, np.nan)
    return ScanInputs(
        last=last_all[:k],
        prev_close=prev_close_all[:k],
        day_open=day_open[:k],
        vwap=vwap_all[:k],
        volume=volume_all[:k],
        or_high=or_high[:k],
        or_low=or_low[:k],
        daily_high=daily.high[:k],
        daily_low=daily.low[:k],
        daily_close=daily.close[:k],
        daily_volume=daily.volume[:k],
        same_time_volume=same_time[:k],
        minute_close=today.close_ffill[:k, :m],
        index_last=float(last_all[k]),
        index_prev_close=float(prev_close_all[k]),
    )


def build_scan_inputs(
    reader: CandleReader,
    instrument_keys: Sequence[str],
    at_ns: int,
    *,
    calendar: ExchangeCalendar,
    index_key: str = NIFTY_50,
    history_days: int = 20,
    volume_days: int = 10,
    or_minutes: int = 15,
) -> ScanInputs:
    """:class:`ScanInputs` of ``instrument_keys`` at ``at_ns`` from stored candles only:
    the previous ``history_days`` sessions' day candles (a session without a stored one
    aggregated from its minute bars), the previous ``volume_days`` sessions' minute bars,
    and the day's bars completed by ``at_ns``."""
    keys = [*instrument_keys, index_key]
    day = datetime.fromtimestamp(at_ns / NS_PER_SECOND, tz=IST).date()
    lookback = day - timedelta(days=max(history_days, volume_days) * 2 + 15)
    sessions = session_days(reader, lookback, day, calendar=calendar, index_key=index_key)
    past = [d for d in sessions if d < day]
    window = past[-history_days:] if history_days > 0 else []
    vol_days = past[-volume_days:] if volume_days > 0 else []
    daily = DailyCandles.load(reader, keys, window[0] if window else day, day)
    loaded = load_minute_bars(reader, keys, [*vol_days, day], calendar=calendar)
    today = loaded[-1]
    priors = {b.day: PriorSession.of(b) for b in loaded[:-1]}
    rest = [d for d in window if d not in priors]
    priors.update(day_candles_from_minutes(reader, keys, daily, rest, calendar=calendar))
    return scan_inputs(
        today,
        at_ns,
        daily=daily.window(window, priors),
        volume_priors=[priors[d] for d in vol_days],
        or_minutes=or_minutes,
    )
