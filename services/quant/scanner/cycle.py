"""One scanner cycle: quotes + stored history -> ranked picks (see docs/scanner.md).

:class:`ScanCycle` keeps the day's state of the scanned names: prepared once per session
(:meth:`ScanCycle.prepare`: the daily candles of every candidate, the liquidity filter
that picks the scanned names, their minute-volume profile), then each :meth:`run` asks the
:class:`~quant.scanner.ports.QuoteSource` for the scanned names and the index (500 keys a
request), reads today's one-minute candles stored since the previous cycle, builds the
``ScanInputs`` and ranks them (:func:`quant.scanner.rank.rank`) in a worker thread. The
service (:mod:`quant.scanner.service`), ``quant scanner --once`` and the tests call it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from quant.analytics.scanner_signals import ScanInputs
from quant.core.calendar import ExchangeCalendar
from quant.core.events import ScannerSuggestion
from quant.scanner.history import DailyHistory, Intraday, VolumeProfile, load_daily
from quant.scanner.ports import CandleReader, QuoteSource, ScanQuote
from quant.scanner.rank import index_prices, quote_arrays, rank
from quant.scanner.schedule import previous_trading_days, session_open_close
from quant.scanner.settings import ScannerSettings
from quant.scanner.universe import Candidates, scanned

log = logging.getLogger(__name__)


class CycleResult(NamedTuple):
    picks: list[ScannerSuggestion]
    universe: int  # names scanned (candidates passing the liquidity filter)
    quoted: int  # of them, with a quote
    scored: int  # of them, with a score
    seconds: float  # wall time of the cycle


@dataclass
class DayState:
    """The scanned names of one session and what is known of them."""

    day: date
    keys: list[str]
    symbols: list[str]
    index: dict[str, int]
    daily: DailyHistory
    profile: VolumeProfile
    intraday: Intraday


class ScanCycle:
    """Prepares a session's state and runs its cycles (see the module docstring)."""

    def __init__(
        self,
        settings: ScannerSettings,
        *,
        candidates: Candidates,
        quotes: QuoteSource,
        candles: CandleReader,
        calendar: ExchangeCalendar,
    ) -> None:
        self._settings = settings
        self._candidates = candidates
        self._quotes = quotes
        self._candles = candles
        self._calendar = calendar
        self.state: DayState | None = None

    # --- the session's state ----------------------------------------------------------

    def _prepare(self, day: date) -> DayState:
        s = self._settings
        session = self._calendar.session(day)
        if session is None:
            raise ValueError(f"{day.isoformat()} has no session to scan")
        all_keys = [i.instrument_key for i in self._candidates.instruments]
        days = previous_trading_days(day, self._calendar, s.history_days)
        daily_all = load_daily(self._candles, all_keys, days)
        rows = scanned(
            all_keys,
            daily_all,
            self._candidates.explicit,
            min_price=s.min_price,
            min_turnover=s.min_turnover,
        )
        keys = [all_keys[i] for i in rows]
        daily = DailyHistory(
            daily_all.days,
            daily_all.high[rows],
            daily_all.low[rows],
            daily_all.close[rows],
            daily_all.volume[rows],
        )
        symbols = [self._candidates.instruments[i].trading_symbol for i in rows]
        open_ns, close_ns = session_open_close(session)
        log.info(
            "scanner: %s: %d of %d candidates pass the liquidity filter",
            day.isoformat(),
            len(keys),
            len(all_keys),
        )
        return DayState(
            day=day,
            keys=keys,
            symbols=symbols,
            index={k: i for i, k in enumerate(keys)},
            daily=daily,
            profile=self._load_profile(day, keys),
            intraday=Intraday(len(keys), open_ns, close_ns, s.or_minutes),
        )

    def _load_profile(self, day: date, keys: list[str]) -> VolumeProfile:
        days = previous_trading_days(day, self._calendar, self._settings.volume_days)
        return VolumeProfile.load(self._candles, keys, days, self._calendar)

    async def prepare(self, day: date) -> DayState:
        """Load ``day``'s state (daily candles, liquidity filter, volume profile)."""
        self.state = await asyncio.to_thread(self._prepare, day)
        return self.state

    async def refresh_profile(self) -> None:
        """Reload the minute-volume profile and re-read today's stored bars at the next
        cycle (after a backfill stored more minutes)."""
        state = self.state
        if state is not None:
            state.profile = await asyncio.to_thread(self._load_profile, state.day, state.keys)
            state.intraday.read_until_ns = state.intraday.open_ns  # today's bars: again

    # --- a cycle ----------------------------------------------------------------------

    def _read_today(self, state: DayState, now_ns: int) -> None:
        """Today's one-minute candles stored since the last read (whole minutes only)."""
        intraday = state.intraday
        until = intraday.open_ns + intraday.minutes_at(now_ns) * 60_000_000_000
        if until <= intraday.read_until_ns:
            return
        batch = self._candles.candle_batch(state.keys, intraday.read_until_ns, until, 60)
        intraday.add_candles(batch, state.index)
        intraday.read_until_ns = until

    async def run(self, now_ns: int) -> CycleResult:
        """One cycle at ``now_ns`` (the cycle's time, stamped on every pick)."""
        state = self.state
        if state is None:
            raise RuntimeError("ScanCycle.run before prepare()")
        started = time.perf_counter()
        index_key = self._settings.index_key
        quotes = await self._quotes.quotes([*state.keys, index_key])
        await asyncio.to_thread(self._read_today, state, now_ns)
        picks, quoted, scored = await asyncio.to_thread(self._rank, state, quotes, now_ns)
        return CycleResult(picks, len(state.keys), quoted, scored, time.perf_counter() - started)

    def _rank(
        self, state: DayState, quotes: dict[str, ScanQuote], now_ns: int
    ) -> tuple[list[ScannerSuggestion], int, int]:
        q = quote_arrays(state.keys, quotes)
        intraday = state.intraday
        intraday.add_quotes(now_ns, q.last, q.day_high, q.day_low)
        or_high, or_low = intraday.opening_range(now_ns)
        index_last, index_prev = index_prices(quotes.get(self._settings.index_key))
        inputs = ScanInputs(
            last=q.last,
            prev_close=q.prev_close,
            day_open=q.day_open,
            vwap=q.vwap,
            volume=q.volume,
            or_high=or_high,
            or_low=or_low,
            daily_high=state.daily.high,
            daily_low=state.daily.low,
            daily_close=state.daily.close,
            daily_volume=state.daily.volume,
            same_time_volume=state.profile.at(intraday.minutes_at(now_ns)),
            minute_close=intraday.minute_close(now_ns),
            index_last=index_last,
            index_prev_close=index_prev,
        )
        ranked = rank(
            inputs,
            keys=state.keys,
            symbols=state.symbols,
            last_paise=q.last_paise,
            now_ns=now_ns,
            settings=self._settings,
        )
        return ranked.picks, q.quoted, ranked.scored
