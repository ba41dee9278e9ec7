"""The instrument sync: download and fully parse the master, then one upsert transaction.

Called by ``quant sync-instruments`` and by ``quant up`` (against the simulator). The order
is what keeps yesterday's data safe: the whole download is parsed into
:class:`~quant.core.instruments.Instrument`s first (a truncated gzip, a short body or
malformed JSON raises in the source before the store is touched), a master that is
empty, implausibly small or lists a key twice is refused, and only then is everything
upserted in a single transaction (the repository's contract). Instruments whose expiry
has passed are then flagged expired. Running it twice reports everything ``unchanged``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from quant.core.instruments import Instrument
from quant.store.ports import UpsertResult

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]  # phase, done, total


class SyncError(Exception):
    """The sync refused to apply a master (the stored data is unchanged)."""


class MasterSource(Protocol):
    """Downloads and parses the whole instrument master (raises on any damage)."""

    async def fetch(self, progress: ProgressFn) -> list[Instrument]: ...


class InstrumentRepository(Protocol):
    """The relational store's instrument table, as the sync needs it."""

    def upsert_instruments(self, instruments: Iterable[Instrument]) -> UpsertResult:
        """Insert or update every row in ONE transaction; counts what changed."""
        ...

    def mark_expired(self, today: date) -> int:
        """Flag instruments whose expiry is before ``today``; returns how many."""
        ...


@dataclass(frozen=True)
class SyncReport:
    total: int
    inserted: int
    updated: int
    unchanged: int
    expired: int

    def line(self) -> str:
        return (
            f"{self.total} instruments: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.expired} expired"
        )


def validate_master(instruments: list[Instrument], min_rows: int) -> None:
    """Refuse an empty/small master or one listing a key twice (raises :class:`SyncError`)."""
    if len(instruments) < max(min_rows, 1):
        raise SyncError(
            f"the instrument master has {len(instruments)} rows (< {max(min_rows, 1)}); "
            "refusing it as truncated and keeping the stored instruments"
        )
    seen: set[str] = set()
    for inst in instruments:
        if inst.instrument_key in seen:
            raise SyncError(f"the instrument master lists {inst.instrument_key!r} twice")
        seen.add(inst.instrument_key)


def apply_master(
    repo: InstrumentRepository,
    instruments: list[Instrument],
    *,
    today: date,
    progress: ProgressFn,
) -> SyncReport:
    """Upsert a validated master in one transaction, then flag expired instruments."""
    progress("upsert", 0, len(instruments))
    result = repo.upsert_instruments(instruments)
    progress("upsert", len(instruments), len(instruments))
    expired = repo.mark_expired(today)
    report = SyncReport(
        len(instruments), result.inserted, result.updated, result.unchanged, expired
    )
    log.info("instrument sync: %s", report.line())
    return report


async def sync_instruments(
    source: MasterSource,
    repo: InstrumentRepository,
    *,
    today: date,
    progress: ProgressFn,
    min_rows: int = 1,
) -> tuple[SyncReport, list[Instrument]]:
    """Fetch, validate, upsert, expire; returns the report and the parsed instruments."""
    fresh = await source.fetch(progress)
    validate_master(fresh, min_rows)
    return apply_master(repo, fresh, today=today, progress=progress), fresh
