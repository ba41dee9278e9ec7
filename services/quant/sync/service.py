"""The instrument sync: download and fully parse the master, diff, then one transaction.

Called by ``quant sync-instruments`` (and by ``quant up`` against the simulator). The
order is what keeps yesterday's data safe: the whole download is parsed into
:class:`~quant.core.instruments.Instrument`s first (a truncated gzip or malformed JSON
raises before the store is touched), a master that shrank implausibly is refused, and
only then are the inserts, updates and expiries written in a single transaction. Running
it twice is a no-op the second time (everything ``unchanged``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from quant.core.instruments import Instrument
from quant.sync.diff import MasterDiff, diff_master

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]  # phase, done, total


class SyncError(Exception):
    """The sync refused to apply a master (the stored data is unchanged)."""


class MasterSource(Protocol):
    """Downloads and parses the whole instrument master (raises on any damage)."""

    async def fetch(self, progress: ProgressFn) -> list[Instrument]: ...


class InstrumentRepository(Protocol):
    """The relational store's instrument table, as the sync needs it."""

    def active_instruments(self) -> Mapping[str, Instrument]: ...

    def apply_master(
        self, upserts: Sequence[Instrument], expired: Sequence[str], progress: ProgressFn
    ) -> None:
        """Upsert ``upserts`` and mark ``expired`` keys expired, in ONE transaction."""
        ...


@dataclass(frozen=True)
class SyncReport:
    total: int
    inserted: int
    updated: int
    unchanged: int
    expired: int

    @classmethod
    def of(cls, total: int, diff: MasterDiff) -> SyncReport:
        s = diff.summary()
        return cls(total, s["inserted"], s["updated"], s["unchanged"], s["expired"])

    def line(self) -> str:
        return (
            f"{self.total} instruments: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.expired} expired"
        )


async def sync_instruments(
    source: MasterSource,
    repo: InstrumentRepository,
    *,
    progress: ProgressFn,
    min_ratio: float = 0.5,
) -> SyncReport:
    """Fetch, validate, diff and apply; raise :class:`SyncError` without writing on refusal."""
    fresh = await source.fetch(progress)
    if not fresh:
        raise SyncError("the instrument master is empty; keeping the stored instruments")
    stored = repo.active_instruments()
    if stored and len(fresh) < min_ratio * len(stored):
        raise SyncError(
            f"the new master has {len(fresh)} rows against {len(stored)} stored "
            f"(< {min_ratio:.0%}); refusing it as truncated"
        )
    try:
        diff = diff_master(fresh, stored)
    except ValueError as e:
        raise SyncError(str(e)) from e
    if diff.upserts or diff.expired:
        repo.apply_master(diff.upserts, diff.expired, progress)
    report = SyncReport.of(len(fresh), diff)
    log.info("instrument sync: %s", report.line())
    return report
