"""The backfill as a service: ``build(settings, deps)`` -> ``backfill`` (one-shot).

For the operator's end-of-day Job and ``quant up``: it resolves ``QUANT_BACKFILL__UNIVERSE``
through the instrument master of ``deps.instruments``, then, for each interval of
``QUANT_BACKFILL__INTERVALS``, backfills the lookback window into ``deps.tick_store``
through its own rate-limited REST client (the token of ``deps.token``, if any: Upstox's
and the simulator's historical candles answer without one) and finishes. ``stop`` ends it
between requests. Errors: an unknown symbol or a bad range fails at once (fatal, before
any request); requests that still failed after the client's retries fail the service
at the end, after everything else was fetched, with the count and the first error (the
Job's status says so); a re-run fetches only what is missing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from quant.backfill.engine import BackfillReport, backfill
from quant.backfill.plan import BadRequest, HistoryRequest, ist_day
from quant.backfill.settings import BackfillSettings
from quant.backfill.universe import NAMED_UNIVERSES, resolve_symbols, universe_entries
from quant.core.calendar import ExchangeCalendar
from quant.core.instruments import Instrument
from quant.core.symbols import InstrumentIndex
from quant.runtime.deps import Deps, load_instruments
from quant.runtime.service import ConfigurationError, FatalServiceError
from quant.upstox.config import RestConfig
from quant.upstox.rest import UpstoxRestClient

log = logging.getLogger(__name__)


class BackfillFailed(FatalServiceError):
    """Some requests failed after their retries; the rest was stored."""


def universe_keys(entries: tuple[str, ...], instruments: list[Instrument]) -> list[str]:
    """Named universes expanded, symbols resolved; raises ``UnknownSymbols``."""
    symbols: list[str] = []
    for entry in entries:
        if entry.strip().upper() in NAMED_UNIVERSES:
            symbols.extend(universe_entries(entry, instruments))
        else:
            symbols.append(entry)
    index = InstrumentIndex.build(instruments)
    return [i.instrument_key for i in resolve_symbols(symbols, index)]


class BackfillService:
    name = "backfill"

    def __init__(
        self, settings: BackfillSettings, deps: Deps, calendar: ExchangeCalendar | None = None
    ) -> None:
        self._settings = settings
        self._deps = deps
        self._calendar = calendar or settings.calendar()
        self._store = deps.need_tick_store("the backfill")
        self.reports: list[BackfillReport] = []

    async def run(self, stop: asyncio.Event) -> None:
        job = self._settings.backfill
        instruments = await load_instruments(self._deps, stop, "backfill")
        if instruments is None:
            return
        try:
            keys = universe_keys(job.universe, instruments)
        except BadRequest as e:
            raise ConfigurationError(f"QUANT_BACKFILL__UNIVERSE: {e}") from e
        end = job.end or ist_day(self._deps.clock.now_ns())
        token = self._deps.token or (lambda: "")
        upstox = self._settings.upstox
        config = RestConfig(api_base=upstox.api_base, ca_file=upstox.ca_file)
        errors: list[str] = []
        async with UpstoxRestClient(token, config, limits=None) as client:
            for interval in job.intervals:
                days = job.day_lookback_days if interval == "day" else job.minute_lookback_days
                request = HistoryRequest(keys, interval, end - timedelta(days=days), end)
                try:
                    report = await backfill(
                        request,
                        client=client,
                        store=self._store,
                        calendar=self._calendar,
                        clock=self._deps.clock,
                        force=job.force,
                        stop=stop,
                        in_flight=self._settings.in_flight,
                    )
                except BadRequest as e:
                    raise ConfigurationError(f"backfill: {e}") from e
                self.reports.append(report)
                errors.extend(report.errors)
                if stop.is_set():
                    return
        if errors:
            raise BackfillFailed(
                f"backfill: {len(errors)} requests failed (a re-run fetches what is "
                f"missing); first: {errors[0]}"
            )


def build(
    settings: BackfillSettings, deps: Deps, *, calendar: ExchangeCalendar | None = None
) -> BackfillService:
    """``calendar``: the market's own (``quant up`` passes the simulator's); default the
    settings' exchange calendar with ``QUANT_OPEN_HOLIDAYS`` opened."""
    return BackfillService(settings, deps, calendar)
