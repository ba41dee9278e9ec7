"""The instrument sync as a service: ``build(settings, deps)`` -> ``instrument-sync``.

A one-shot service: it takes the master from ``deps.instruments``, validates it
(``settings.min_instruments``, no key twice) and upserts it into ``deps.relational`` in
one transaction, flagging expired rows, then finishes. ``quant up`` runs it to fill its
SQLite store from the simulator's master while the other services start (it is not on
the path of the first quote). ``quant sync-instruments`` (:mod:`quant.sync.cli`) is the
interactive command: download with a progress bar, the same validation and upsert.
"""

from __future__ import annotations

import asyncio
import logging

from quant.core.clock import IST, ns_to_datetime
from quant.runtime.blocking import run_blocking
from quant.runtime.deps import Deps
from quant.sync.service import apply_master, validate_master
from quant.sync.settings import SyncSettings

log = logging.getLogger(__name__)


def _quiet(phase: str, done: int, total: int) -> None:
    del phase, done, total


class InstrumentSyncService:
    """Copy the catalog's instrument master into the relational store, once."""

    name = "instrument-sync"

    def __init__(self, settings: SyncSettings, deps: Deps) -> None:
        self._settings = settings
        self._deps = deps
        self._store = deps.need_relational("the instrument sync")

    async def run(self, stop: asyncio.Event) -> None:
        del stop  # one short transaction: it finishes rather than stopping halfway
        instruments = await self._deps.instruments.load()
        validate_master(instruments, self._settings.min_instruments)
        today = ns_to_datetime(self._deps.clock.now_ns(), IST).date()
        report = await run_blocking(
            apply_master, self._store, instruments, today=today, progress=_quiet
        )
        log.info("instruments from %s: %s", self._deps.instruments.origin, report.line())


def build(settings: SyncSettings, deps: Deps) -> InstrumentSyncService:
    return InstrumentSyncService(settings, deps)
