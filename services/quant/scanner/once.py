"""``quant scanner --once``: fill what history is missing, run one cycle now, return it.

Outside market hours the cycle is the latest session's close (its quotes are the closing
ones). Nothing is published or written: the table is for the terminal. Uses the service's
own parts (:class:`~quant.scanner.cycle.ScanCycle`, :func:`quant.scanner.main.rest_io`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from quant.core.calendar import ExchangeCalendar
from quant.core.clock import IST, Clock, datetime_to_ns
from quant.core.instruments import Instrument
from quant.scanner.adapters import StoreCandles
from quant.scanner.cycle import CycleResult, ScanCycle
from quant.scanner.schedule import previous_trading_days, session_day
from quant.scanner.service import OpenIO
from quant.scanner.settings import ScannerSettings
from quant.scanner.universe import candidates
from quant.store.ports import TickReader

log = logging.getLogger(__name__)


def cycle_time(now_ns: int, calendar: ExchangeCalendar) -> int:
    """``now_ns`` during a session, else the close of the latest session."""
    day = session_day(now_ns, calendar)
    session = calendar.session(day)
    assert session is not None  # session_day returns trading days
    close = datetime_to_ns(datetime.combine(day, session.times.close, tzinfo=IST))
    return min(now_ns, close)


async def run_once(
    settings: ScannerSettings,
    *,
    instruments: list[Instrument],
    store: TickReader,
    open_io: OpenIO,
    calendar: ExchangeCalendar,
    clock: Clock,
) -> CycleResult:
    """One cycle at :func:`cycle_time` of now over ``instruments`` (see the module)."""
    import asyncio

    cands = candidates(instruments, settings.universe)
    if cands.unresolved:
        log.warning("not in the instrument master, not scanned: %s", cands.unresolved)
    if not cands.instruments:
        raise ValueError(f"the universe {list(settings.universe)} names no equity of the master")
    at = cycle_time(clock.now_ns(), calendar)
    day = session_day(at, calendar)
    stop = asyncio.Event()
    async with open_io() as io:
        cycle = ScanCycle(
            settings,
            candidates=cands,
            quotes=io.quotes,
            candles=StoreCandles(store),
            calendar=calendar,
        )
        if io.fill is not None:
            days = previous_trading_days(day, calendar, settings.history_days)
            keys = [i.instrument_key for i in cands.instruments]
            log.info("daily history: %s", await io.fill.fill(keys, "day", days[0], days[-1], stop))
        state = await cycle.prepare(day)
        if io.fill is not None and state.keys:
            first = previous_trading_days(day, calendar, settings.volume_days)[0]
            summary = await io.fill.fill(state.keys, "1minute", first, day, stop)
            log.info("one-minute history: %s", summary)
            await cycle.refresh_profile()
        return await cycle.run(at)
