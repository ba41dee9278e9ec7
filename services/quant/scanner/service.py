"""The ``scanner`` service: a timer on the injected clock runs a cycle at every scheduled
instant of market hours and publishes its picks.

:meth:`ScannerService.run` loads the instrument master, resolves the candidates
(:mod:`quant.scanner.universe`), then for each trading day: at the start of the day (at
pre-open, or at once when started later) fills the missing daily history
(:class:`~quant.scanner.ports.HistoryFill`, ``quant.backfill``) and prepares the day
(daily candles, liquidity filter, minute-volume profile), fills the missing one-minute
history in the background (and reloads the profile when it is done), and runs a cycle at
09:20, 09:25, ... (:mod:`quant.scanner.schedule`; a clock faster than the wall, the
simulator's, waits ``clock_speed`` times less). Each cycle's picks are published on
``scanner.suggestions`` keyed by instrument key (the ingestor subscribes them) and written
to the ``scanner_suggestions`` table. A cycle that fails on quotes or the store is counted,
logged and makes ``/readyz`` say so until one succeeds (preparing a day does not: nothing
waits on the scanner); anything else fails the run (the
supervisor restarts it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import NamedTuple

from quant.backfill import BadRequest
from quant.bus import codecs, topics
from quant.bus.port import Publisher
from quant.core.calendar import ExchangeCalendar
from quant.core.clock import IST, datetime_to_ns, ns_to_datetime
from quant.runtime.blocking import run_blocking
from quant.runtime.deps import Deps, load_instruments
from quant.runtime.probes import short_error
from quant.runtime.service import ConfigurationError, Readiness
from quant.scanner.adapters import StoreCandles
from quant.scanner.cycle import CycleResult, ScanCycle
from quant.scanner.metrics import ScannerMetrics
from quant.scanner.ports import HistoryFill, QuoteSource
from quant.scanner.schedule import next_cycle, previous_trading_days, wall_seconds_until
from quant.scanner.settings import ScannerSettings
from quant.scanner.universe import Candidates, candidates
from quant.store.columns import suggestion_batch
from quant.store.ports import StoreError
from quant.upstox.errors import UpstoxError

log = logging.getLogger(__name__)

MAX_WAIT_S = 5.0  # a wait re-reads the clock at least this often (a jump, a new speed)


class ScannerIO(NamedTuple):
    """What a run talks to the market through: quotes, and the history filler (or None)."""

    quotes: QuoteSource
    fill: HistoryFill | None


OpenIO = Callable[[], AbstractAsyncContextManager[ScannerIO]]
CYCLE_ERRORS = (UpstoxError, StoreError)


def start_of_day_ns(day: date, calendar: ExchangeCalendar) -> int:
    """When the start-of-day step of ``day`` runs: its pre-open."""
    session = calendar.session(day)
    if session is None:
        raise ValueError(f"{day.isoformat()} has no session")
    return datetime_to_ns(datetime.combine(day, session.times.pre_open_start, tzinfo=IST))


class ScannerService:
    """See the module docstring."""

    name = "scanner"

    def __init__(
        self,
        settings: ScannerSettings,
        deps: Deps,
        *,
        open_io: OpenIO,
        calendar: ExchangeCalendar,
        on_cycle: Callable[[CycleResult], None] | None = None,
    ) -> None:
        self._settings = settings
        self._deps = deps
        self._store = deps.need_tick_store("the scanner")
        self._open_io = open_io
        self._calendar = calendar
        self._on_cycle = on_cycle
        self.metrics = ScannerMetrics(deps.registry)
        self._stage = "loading the instrument master"
        self._failing: str | None = None

    @property
    def stage(self) -> str:
        """What the service is doing: loading, filling history, waiting, scanning."""
        return self._stage

    def ready(self) -> Readiness:
        """Ready unless the last cycle failed (preparing a day is work, not a fault: it
        can take the whole pre-open, and nothing waits on the scanner)."""
        if self._failing:
            return False, (f"the last cycle failed: {self._failing}",)
        return True, ()

    async def run(self, stop: asyncio.Event) -> None:
        self._stage = "loading the instrument master"
        instruments = await load_instruments(self._deps, stop, self.name)
        if instruments is None:
            return
        cands = candidates(instruments, self._settings.universe)
        if cands.unresolved:
            log.warning("scanner: not in the instrument master, not scanned: %s", cands.unresolved)
        if not cands.instruments:
            raise ConfigurationError(
                f"the scanner universe {list(self._settings.universe)} names no equity of "
                "the instrument master"
            )
        self.metrics.candidates.set(len(cands.instruments))
        await run_blocking(self._deps.bus.ensure_topics, [topics.SUGGESTIONS])
        publisher = self._deps.bus.publisher()
        try:
            async with self._open_io() as io, asyncio.TaskGroup() as tg:
                cycle = ScanCycle(
                    self._settings,
                    candidates=cands,
                    quotes=io.quotes,
                    candles=StoreCandles(self._store),
                    calendar=self._calendar,
                )
                background: list[asyncio.Task[None]] = []
                try:
                    await self._loop(cycle, cands, io.fill, publisher, stop, tg, background)
                finally:
                    for task in background:
                        task.cancel()
        finally:
            await run_blocking(publisher.close)

    # --- the timer ---------------------------------------------------------------------

    async def _wait_until(self, target_ns: int, stop: asyncio.Event) -> bool:
        """Wait until the clock reads ``target_ns``; False if ``stop`` came first."""
        clock, speed = self._deps.clock, self._settings.clock_speed
        while not stop.is_set():
            now = clock.now_ns()
            if now >= target_ns:
                return True
            wait = min(wall_seconds_until(target_ns, now, speed), MAX_WAIT_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(wait, 0.001))
        return False

    async def _loop(
        self,
        cycle: ScanCycle,
        cands: Candidates,
        fill: HistoryFill | None,
        publisher: Publisher,
        stop: asyncio.Event,
        tg: asyncio.TaskGroup,
        background: list[asyncio.Task[None]],
    ) -> None:
        s, cal = self._settings, self._calendar
        day: date | None = None
        done = 0  # the last cycle run: the next is after it, however fast the cycle was
        while not stop.is_set():
            after = max(self._deps.clock.now_ns(), done + 1)
            due = next_cycle(after, cal, s.first_at, s.interval_seconds)
            due_day = ns_to_datetime(due, IST).date()
            if due_day != day:
                self._stage = f"waiting for the start of {due_day.isoformat()}"
                if not await self._wait_until(start_of_day_ns(due_day, cal), stop):
                    return
                await self._start_day(due_day, cycle, cands, fill, stop, tg, background)
                day = due_day
                continue  # the start of the day took time: the next due cycle again
            self._stage = "scanning"
            if not await self._wait_until(due, stop):
                return
            await self._cycle(cycle, due, publisher)
            done = due

    # --- the start of a day ------------------------------------------------------------

    async def _fill(
        self,
        fill: HistoryFill,
        keys: Sequence[str],
        interval: str,
        start: date,
        end: date,
        stop: asyncio.Event,
    ) -> None:
        try:
            summary = await fill.fill(keys, interval, start, end, stop)
        except (*CYCLE_ERRORS, BadRequest) as e:
            self.metrics.errors.labels(stage="fill").inc()
            log.warning(
                "scanner: filling %s history failed (%s); scanning with what is stored",
                interval,
                short_error(e),
            )
            return
        log.info("scanner: %s history %s..%s: %s", interval, start, end, summary)

    async def _start_day(
        self,
        day: date,
        cycle: ScanCycle,
        cands: Candidates,
        fill: HistoryFill | None,
        stop: asyncio.Event,
        tg: asyncio.TaskGroup,
        background: list[asyncio.Task[None]],
    ) -> None:
        s, cal = self._settings, self._calendar
        for task in background:  # a day's minute fill still running: the new day's next
            task.cancel()
        background.clear()
        if fill is not None and s.backfill:
            self._stage = f"filling the daily history of {len(cands.instruments)} names"
            days = previous_trading_days(day, cal, s.history_days)
            keys = [i.instrument_key for i in cands.instruments]
            await self._fill(fill, keys, "day", days[0], days[-1], stop)
        self._stage = "loading the stored history"
        state = await cycle.prepare(day)
        self.metrics.universe.set(len(state.keys))
        if fill is not None and s.backfill and state.keys:
            first = previous_trading_days(day, cal, s.volume_days)[0]
            background.append(
                tg.create_task(
                    self._fill_minutes(cycle, fill, state.keys, first, day, stop),
                    name="scanner-minute-fill",
                )
            )

    async def _fill_minutes(
        self,
        cycle: ScanCycle,
        fill: HistoryFill,
        keys: Sequence[str],
        start: date,
        end: date,
        stop: asyncio.Event,
    ) -> None:
        await self._fill(fill, keys, "1minute", start, end, stop)
        if not stop.is_set():
            await cycle.refresh_profile()

    # --- a cycle -----------------------------------------------------------------------

    async def _cycle(self, cycle: ScanCycle, due: int, publisher: Publisher) -> None:
        try:
            result = await cycle.run(due)
            if result.picks:
                await run_blocking(self._store.write, suggestion_batch(result.picks))
        except CYCLE_ERRORS as e:
            self.metrics.errors.labels(stage="cycle").inc()
            self._failing = short_error(e)
            log.warning("scanner: the cycle at %s failed: %s", _hhmm(due), self._failing)
            return
        for pick in result.picks:
            publisher.publish(
                topics.SUGGESTIONS.name, pick.instrument_key, codecs.encode_suggestion(pick)
            )
        await run_blocking(publisher.flush)
        self._failing = None
        m = self.metrics
        m.cycles.inc()
        m.cycle_seconds.observe(result.seconds)
        m.picks.set(len(result.picks))
        m.published.inc(len(result.picks))
        m.universe.set(result.universe)
        m.quoted.set(result.quoted)
        m.scored.set(result.scored)
        log.info(
            "scanner: %s: %d picks of %d names (%d quoted, %d scored) in %.2f s%s",
            _hhmm(due),
            len(result.picks),
            result.universe,
            result.quoted,
            result.scored,
            result.seconds,
            f"; top: {', '.join(p.trading_symbol for p in result.picks[:5])}"
            if result.picks
            else "",
        )
        if self._on_cycle is not None:
            self._on_cycle(result)


def _hhmm(ns: int) -> str:
    return ns_to_datetime(ns, IST).strftime("%Y-%m-%d %H:%M")
