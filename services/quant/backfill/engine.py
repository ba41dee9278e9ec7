"""``backfill(request, ...)``: fetch a request's missing candles and store the good ones.

The library entry of the backfill (``quant backfill``, its service form, the scanner's
start-of-day step). In order:

1. :func:`~quant.backfill.plan.check_request` refuses a bad range before any request;
2. unless ``force``, the store says what it holds per instrument and IST day
   (``TickReader.candle_days``), and :func:`~quant.backfill.plan.plan_chunks` plans only
   the missing requests;
3. ``in_flight`` workers (default 4) take the chunks in order and fetch each through the
   :class:`CandleSource` (the rate-limited :class:`~quant.upstox.rest.UpstoxRestClient`:
   its limiter keeps every request, the process's others included, inside Upstox's
   50/s, 500/min and 2,000/30 min), check the candles (:mod:`quant.backfill.checks`)
   and write the good ones in one batch per chunk (an upsert on the ``ohlc`` DEDUP keys:
   a re-run writes no duplicate);
4. the store is asked to make the writes visible, and a :class:`BackfillReport` returned.

A chunk that fails (an Upstox error after the client's own retries) is reported in
``errors`` and the others go on; an expired or refused token (``UpstoxAuthError``) or a
store error ends the run (raised). ``stop`` set: no new chunk starts, the ones in flight
finish, and the report covers what was done; a cancelled run (killed) leaves whole
chunks written or not written at all, and a new run fetches what is missing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import NamedTuple, Protocol

from quant.backfill.checks import Checked, check_candles
from quant.backfill.plan import (
    INTERVAL_SECONDS,
    UPSTOX_UNIT,
    Chunk,
    HistoryRequest,
    check_request,
    day_start_ns,
    ist_day,
    plan_chunks,
    trading_days,
)
from quant.core.calendar import ExchangeCalendar
from quant.core.clock import NS_PER_SECOND, Clock
from quant.core.events import Candle
from quant.runtime.blocking import run_blocking
from quant.store.columns import candle_batch
from quant.store.ports import TickStore
from quant.upstox.errors import UpstoxAuthError, UpstoxError

log = logging.getLogger(__name__)

__all__ = [
    "BackfillProgress",
    "BackfillReport",
    "CandleSource",
    "ProgressFn",
    "backfill",
]


class CandleSource(Protocol):
    """Historical and intraday candles, as :class:`~quant.upstox.rest.UpstoxRestClient`
    serves them (oldest first; ``unit`` minutes/days, V3 paths)."""

    async def historical_candles(
        self,
        instrument_key: str,
        unit: str,
        interval: int,
        to_date: date,
        from_date: date | None = None,
    ) -> list[Candle]: ...

    async def intraday_candles(
        self, instrument_key: str, unit: str, interval: int
    ) -> list[Candle]: ...


class BackfillProgress(NamedTuple):
    """Where a run is, after each request (``requests_total``: the planned requests)."""

    requests_done: int
    requests_total: int
    candles_written: int
    candles_dropped: int
    gaps: int
    errors: int
    elapsed_s: float


ProgressFn = Callable[[BackfillProgress], None]


class BackfillReport(NamedTuple):
    """What a run did: ``requests`` sent (one per chunk), ``skipped_chunks`` already
    stored, candles written and dropped (per reason in ``dropped_by_reason``), gaps."""

    symbols: int
    requests: int
    candles_written: int
    candles_dropped: int
    gaps: int
    errors: tuple[str, ...]
    skipped_chunks: int
    dropped_by_reason: tuple[tuple[str, int], ...] = ()
    elapsed_s: float = 0.0
    stopped: bool = False

    def line(self) -> str:
        """The closing summary, one line."""
        reasons = ", ".join(f"{n} {r}" for r, n in self.dropped_by_reason)
        return (
            f"{self.symbols} symbols: {self.candles_written:,} candles written, "
            f"{self.requests} requests ({self.skipped_chunks} chunks already stored), "
            f"{self.gaps:,} gaps, {self.candles_dropped:,} bad candles dropped"
            + (f" ({reasons})" if reasons else "")
            + f", {len(self.errors)} errors in {self.elapsed_s:.1f} s"
            + (" (stopped before the end)" if self.stopped else "")
        )


class _Tally:
    def __init__(self, total: int, clock: Clock) -> None:
        self.clock = clock
        self.total = total
        self.done = 0
        self.written = 0
        self.gaps = 0
        self.dropped: Counter[str] = Counter()
        self.errors: list[str] = []
        self.started = clock.now_ns()

    def elapsed(self) -> float:
        return (self.clock.now_ns() - self.started) / NS_PER_SECOND

    def progress(self) -> BackfillProgress:
        return BackfillProgress(
            self.done,
            self.total,
            self.written,
            sum(self.dropped.values()),
            self.gaps,
            len(self.errors),
            self.elapsed(),
        )


async def _coverage(
    store: TickStore, request: HistoryRequest, interval_seconds: int
) -> dict[str, dict[date, int]]:
    start_ns = day_start_ns(request.start)
    end_ns = day_start_ns(request.end + timedelta(days=1))

    def read(keys: Sequence[str]) -> dict[str, dict[date, int]]:
        return {k: store.candle_days(k, interval_seconds, start_ns, end_ns) for k in keys}

    return await run_blocking(read, list(dict.fromkeys(request.instrument_keys)))


async def _fetch(client: CandleSource, chunk: Chunk) -> list[Candle]:
    unit, n = UPSTOX_UNIT[chunk.interval]
    if chunk.intraday:
        return await client.intraday_candles(chunk.instrument_key, unit, n)
    return await client.historical_candles(chunk.instrument_key, unit, n, chunk.end, chunk.start)


async def backfill(
    request: HistoryRequest,
    *,
    client: CandleSource,
    store: TickStore,
    calendar: ExchangeCalendar,
    clock: Clock,
    force: bool = False,
    progress: ProgressFn | None = None,
    stop: asyncio.Event | None = None,
    in_flight: int = 4,
) -> BackfillReport:
    """Fetch and store the candles of ``request`` the store lacks (all with ``force``).

    Raises :class:`~quant.backfill.plan.BadRequest` (before any request),
    ``UpstoxAuthError`` and ``StoreError``; other Upstox errors are per chunk, in the
    report's ``errors``.
    """
    if in_flight < 1:
        raise ValueError(f"in_flight must be at least 1, got {in_flight}")
    now_ns = clock.now_ns()
    check_request(request, ist_day(now_ns))
    seconds = INTERVAL_SECONDS[request.interval]
    have = None if force else await _coverage(store, request, seconds)
    plan = plan_chunks(request, calendar=calendar, now_ns=now_ns, have=have, force=force)
    symbols = len(dict.fromkeys(request.instrument_keys))
    tally = _Tally(len(plan.chunks), clock)
    todo = deque(plan.chunks)
    log.info(
        "backfill %s %s..%s of %d instruments: %d requests, %d chunks already stored",
        request.interval,
        request.start,
        request.end,
        symbols,
        len(plan.chunks),
        plan.skipped_chunks,
    )
    if progress is not None:
        progress(tally.progress())

    async def one(chunk: Chunk) -> None:
        try:
            candles = await _fetch(client, chunk)
        except UpstoxAuthError:
            raise
        except UpstoxError as e:
            tally.errors.append(
                f"{chunk.instrument_key} {chunk.start.isoformat()}..{chunk.end.isoformat()}: {e}"
            )
            log.warning("backfill: %s", tally.errors[-1])
            return
        until = clock.now_ns() if chunk.intraday else None  # what has closed by the answer

        def check_and_write() -> Checked:  # off the event loop: the next answers come in
            checked = check_candles(
                candles,
                interval_seconds=seconds,
                calendar=calendar,
                days=trading_days(calendar, chunk.start, chunk.end),
                until_ns=until,
            )
            if checked.kept:
                store.write(candle_batch(checked.kept))
            return checked

        checked = await run_blocking(check_and_write)
        tally.written += len(checked.kept)
        tally.gaps += checked.gaps
        tally.dropped.update(checked.dropped)

    async def worker() -> None:
        while todo and not (stop is not None and stop.is_set()):
            chunk = todo.popleft()
            await one(chunk)
            tally.done += 1
            if progress is not None:
                progress(tally.progress())

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(in_flight, max(len(todo), 1))):
                group.create_task(worker())
    except BaseExceptionGroup as eg:  # the first failure as itself (auth, store)
        raise eg.exceptions[0] from None
    if tally.written:
        await run_blocking(store.wait_visible)
    report = BackfillReport(
        symbols=symbols,
        requests=tally.done,
        candles_written=tally.written,
        candles_dropped=sum(tally.dropped.values()),
        gaps=tally.gaps,
        errors=tuple(tally.errors),
        skipped_chunks=plan.skipped_chunks,
        dropped_by_reason=tuple(sorted(tally.dropped.items())),
        elapsed_s=tally.elapsed(),
        stopped=bool(todo),
    )
    log.info("backfill %s: %s", request.interval, report.line())
    return report
