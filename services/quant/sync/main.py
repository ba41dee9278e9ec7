"""The instrument sync as a service: ``build(settings, deps)`` -> ``instrument-sync``.

A one-shot service: it takes the master from ``deps.instruments``, judges it by the same
sanity rules as ``quant sync-instruments`` (:mod:`quant.sync.checks`: impossible rows,
too few rows, a key twice, each segment against yesterday's rows, the deadline) and
replaces the stored master in ``deps.relational`` in one transaction, flagging expired
rows, then finishes. A refusal leaves the stored master as it was, counts in
``instrument_sync_refusals_total{rule}`` and fails the service (fatal: the same master
would be refused again; ``quant sync-instruments --force`` accepts it). ``quant up`` runs
it to fill its SQLite store from the simulator's master while the other services start
(it is not on the path of the first quote). ``quant sync-instruments``
(:mod:`quant.sync.cli`) is the interactive command: download with a progress bar, the
same rules and transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Set

from quant.core.clock import IST, ns_to_datetime
from quant.core.instruments import SEGMENTS, Instrument
from quant.runtime.deps import Deps, FixedCatalog
from quant.sync.metrics import SyncMetrics
from quant.sync.service import MasterSource, ProgressFn, sync_instruments
from quant.sync.settings import SyncSettings

log = logging.getLogger(__name__)


def _quiet(phase: str, done: int, total: int) -> None:
    del phase, done, total


class _CatalogSource:
    """``deps.instruments`` as the sync's ``MasterSource`` (with what its download
    rejected, when the catalog says: :class:`~quant.runtime.deps.FixedCatalog`)."""

    def __init__(self, deps: Deps) -> None:
        self._catalog = deps.instruments
        fixed = self._catalog if isinstance(self._catalog, FixedCatalog) else None
        self.segments: Set[str] = fixed.segments if fixed else SEGMENTS
        self.rejected: Mapping[tuple[str, str], int] = fixed.rejected if fixed else {}
        self.rejected_examples: Mapping[str, str] = fixed.rejected_examples if fixed else {}

    async def fetch(self, progress: ProgressFn) -> list[Instrument]:
        del progress
        return await self._catalog.load()


class InstrumentSyncService:
    """Copy the catalog's instrument master into the relational store, once."""

    name = "instrument-sync"

    def __init__(self, settings: SyncSettings, deps: Deps) -> None:
        self._settings = settings
        self._deps = deps
        self._store = deps.need_relational("the instrument sync")
        self._metrics = SyncMetrics(deps.registry)

    async def run(self, stop: asyncio.Event) -> None:
        del stop  # one short transaction: it finishes rather than stopping halfway
        source: MasterSource = _CatalogSource(self._deps)
        catalog = self._deps.instruments
        trading_day = catalog.trading_day if isinstance(catalog, FixedCatalog) else None
        today = (
            trading_day
            or self._settings.trading_day
            or ns_to_datetime(self._deps.clock.now_ns(), IST).date()
        )
        report, _ = await sync_instruments(
            source,
            self._store,
            today=today,
            progress=_quiet,
            limits=self._settings.limits(),
            clock=self._deps.clock,
            metrics=self._metrics,
        )
        log.info("instruments from %s: %s", self._deps.instruments.origin, report.line())


def build(settings: SyncSettings, deps: Deps) -> InstrumentSyncService:
    return InstrumentSyncService(settings, deps)
