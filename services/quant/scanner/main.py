"""The scanner's composition: ``build(settings, deps)`` -> the ``scanner`` service.

Per run, :func:`rest_io` opens two rate-limited Upstox REST clients at ``settings.upstox``
with ``deps.token`` (``quant auth login``; in ``quant up`` the simulator's): one for the
quotes (:class:`~quant.scanner.adapters.UpstoxQuotes`) and one for the start-of-day
history fill (:class:`~quant.scanner.adapters.BackfillHistory`, into ``deps.tick_store``),
whose limiters take shares of Upstox's standard limits (:data:`QUOTE_WINDOWS`,
:data:`FILL_WINDOWS`), so that a cycle's quotes never queue behind a fill. The calendar
is NSE's unless given (``quant up`` gives the simulator's). ``quant scanner``
(:mod:`quant.scanner.cli`) and ``quant up`` build it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from quant.core.calendar import NSE_CALENDAR, ExchangeCalendar
from quant.core.clock import Clock
from quant.runtime.deps import Deps
from quant.scanner.adapters import BackfillHistory, UpstoxQuotes
from quant.scanner.cycle import CycleResult
from quant.scanner.service import OpenIO, ScannerIO, ScannerService
from quant.scanner.settings import ScannerServiceSettings, ScannerSettings
from quant.store.ports import TickStore
from quant.upstox.ratelimit import RateWindow
from quant.upstox.settings import UpstoxSettings

QUOTE_WINDOWS = (RateWindow(10, 1), RateWindow(50, 60), RateWindow(200, 1800))
"""The quotes' share of Upstox's standard limits: 5 requests a cycle never wait behind a
history fill (a fill can take a whole minute's budget)."""
FILL_WINDOWS = (RateWindow(30, 1), RateWindow(400, 60), RateWindow(1500, 1800))
"""The history fill's share. With the quotes' it leaves 10/s, 50/min and 300/30 min of
Upstox's standard limits (shared by every process on the same token) to the others."""


def rest_io(
    upstox: UpstoxSettings,
    token: Callable[[], str],
    scanner: ScannerSettings,
    *,
    store: TickStore,
    calendar: ExchangeCalendar,
    clock: Clock,
) -> OpenIO:
    """Opens the REST client the quotes and the history fill go through, per run."""

    @contextlib.asynccontextmanager
    async def open_io() -> AsyncIterator[ScannerIO]:
        from quant.upstox.config import RestConfig
        from quant.upstox.ratelimit import UpstoxRateLimits
        from quant.upstox.rest import UpstoxRestClient

        config = RestConfig(
            api_base=upstox.api_base, hft_base=upstox.hft_base, ca_file=upstox.ca_file
        )
        quotes = UpstoxRestClient(
            token, config, limits=UpstoxRateLimits(standard_windows=QUOTE_WINDOWS)
        )
        history = UpstoxRestClient(
            token, config, limits=UpstoxRateLimits(standard_windows=FILL_WINDOWS)
        )
        async with quotes, history:
            fill = BackfillHistory(
                history,
                store,
                calendar=calendar,
                clock=clock,
                in_flight=scanner.backfill_in_flight,
            )
            yield ScannerIO(UpstoxQuotes(quotes), fill if scanner.backfill else None)

    return open_io


def build(
    settings: ScannerServiceSettings,
    deps: Deps,
    *,
    calendar: ExchangeCalendar = NSE_CALENDAR,
    open_io: OpenIO | None = None,
    on_cycle: Callable[[CycleResult], None] | None = None,
) -> ScannerService:
    """The scanner over ``deps`` (``open_io`` replaces the Upstox REST client: tests)."""
    if open_io is None:
        open_io = rest_io(
            settings.upstox,
            deps.need_token("the scanner (full market quotes)"),
            settings.scanner,
            store=deps.need_tick_store("the scanner"),
            calendar=calendar,
            clock=deps.clock,
        )
    return ScannerService(
        settings.scanner, deps, open_io=open_io, calendar=calendar, on_cycle=on_cycle
    )
