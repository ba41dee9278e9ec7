"""The instrument sync: download and parse the master, judge it, then one transaction.

Called by ``quant sync-instruments`` and by ``quant up``. The order is what keeps
yesterday's data safe:

1. the whole download is parsed into :class:`~quant.core.instruments.Instrument`s first
   (a damaged file raises in the source, an over-size one is abandoned mid-stream,
   impossible rows are dropped and counted) before the store is touched;
2. the sanity rules of :mod:`quant.sync.checks` judge it (too many bad rows, too few
   rows, a key twice, the deadline);
3. :meth:`~quant.store.ports.InstrumentRepository.replace_instruments` runs ONE
   transaction: it reads the live rows per segment (yesterday's master), lets the guard
   apply the row-count rule to them, upserts, flags expired rows, and lets the guard
   check the deadline once more before the commit. A refusal anywhere rolls it all back.

The report gives the inserted/updated/unchanged/expired counts and, per segment, the new
rows against yesterday's (logged on every successful sync). Running it twice reports
everything ``unchanged``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from quant.core.clock import Clock, SystemClock
from quant.core.instrument_checks import screen_instruments, segment_counts
from quant.core.instruments import Instrument
from quant.runtime.blocking import run_blocking
from quant.store.ports import ReplaceGuard, ReplaceResult, StoreError
from quant.sync.checks import (
    DOWNLOAD,
    SIZE_LIMIT,
    STORE,
    Deadline,
    SegmentCount,
    SyncError,
    SyncLimits,
    SyncRefused,
    check_bad_rows,
    check_row_counts,
    compare_segments,
    validate_master,
)
from quant.sync.metrics import SyncMetrics
from quant.upstox.errors import InstrumentMasterTooLarge, UpstoxError

__all__ = [
    "MasterSource",
    "SyncError",
    "SyncLimits",
    "SyncRefused",
    "SyncReport",
    "apply_master",
    "sync_instruments",
    "validate_master",
]

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]  # phase, done, total


class MasterSource(Protocol):
    """Downloads and parses the whole instrument master (raises on a damaged file)."""

    async def fetch(self, progress: ProgressFn) -> list[Instrument]: ...

    @property
    def segments(self) -> Set[str]:
        """The segments the downloaded files list (others are not compared)."""
        ...

    @property
    def rejected(self) -> Mapping[tuple[str, str], int]:
        """After ``fetch``: impossible rows dropped, per (segment, reason)."""
        ...

    @property
    def rejected_examples(self) -> Mapping[str, str]:
        """After ``fetch``: one offending row per reason."""
        ...


class InstrumentRepository(Protocol):
    """The relational store's instrument table, as the sync needs it."""

    def replace_instruments(
        self, instruments: list[Instrument], *, today: date, guard: ReplaceGuard
    ) -> ReplaceResult: ...


@dataclass(frozen=True)
class SyncReport:
    total: int
    inserted: int
    updated: int
    unchanged: int
    expired: int
    segments: tuple[SegmentCount, ...] = ()
    dropped: int = 0
    forced: tuple[SegmentCount, ...] = field(default=())

    def line(self) -> str:
        return (
            f"{self.total} instruments: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.expired} expired"
            + (f", {self.dropped} impossible rows dropped" if self.dropped else "")
        )

    def segment_lines(self) -> list[str]:
        """Per segment: the new rows against yesterday's (forced ones marked)."""
        forced = {c.segment for c in self.forced}
        return [
            c.line() + (" (accepted with --force)" if c.segment in forced else "")
            for c in self.segments
        ]


class _Guard:
    """The sync's checks inside the store's transaction (see ``ReplaceGuard``)."""

    def __init__(
        self,
        fresh: Mapping[str, int],
        covered: Set[str],
        limits: SyncLimits,
        deadline: Deadline,
    ) -> None:
        self._fresh = fresh
        self._covered = covered
        self._limits = limits
        self._deadline = deadline
        self.segments: list[SegmentCount] = []
        self.forced: list[SegmentCount] = []

    def before_write(self, live_counts: Mapping[str, int]) -> None:
        self._deadline.check("the store transaction")
        self.segments = compare_segments(self._fresh, live_counts, self._covered)
        self.forced = check_row_counts(self.segments, self._limits)

    def before_commit(self) -> None:
        self._deadline.check("the store transaction (rolled back)")

    def remaining_s(self) -> float:
        return self._deadline.remaining_s()


def _merged(*parts: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for part in parts:
        for key, n in part.items():
            out[key] = out.get(key, 0) + n
    return out


def apply_master(
    repo: InstrumentRepository,
    instruments: list[Instrument],
    *,
    today: date,
    progress: ProgressFn,
    limits: SyncLimits,
    deadline: Deadline,
    covered: Set[str],
    rejected: Mapping[tuple[str, str], int] | None = None,
    examples: Mapping[str, str] | None = None,
    metrics: SyncMetrics | None = None,
) -> SyncReport:
    """Judge a parsed master and replace the stored one with it in one transaction
    (blocking; raises :class:`SyncRefused` and leaves the store as it was on refusal).

    ``rejected``/``examples``: what the parser already dropped; rows still impossible
    here (e.g. handed over by a catalog) are screened out and counted too.
    """
    screened = screen_instruments(instruments)
    dropped_rows = _merged(rejected or {}, screened.dropped)
    all_examples = {**screened.examples, **(examples or {})}
    kept = screened.kept
    guard = _Guard(segment_counts(kept), covered, limits, deadline)
    try:
        dropped = check_bad_rows(len(kept), dropped_rows, all_examples, limits)
        validate_master(kept, limits.min_rows)
        deadline.check("the checks")
        progress("upsert", 0, len(kept))
        result = repo.replace_instruments(kept, today=today, guard=guard)
        progress("upsert", len(kept), len(kept))
    finally:
        if metrics is not None:
            metrics.judged(guard.segments, dropped_rows)
    report = SyncReport(
        len(kept),
        result.inserted,
        result.updated,
        result.unchanged,
        result.expired,
        tuple(guard.segments),
        dropped,
        tuple(guard.forced),
    )
    log.info("instrument sync: %s", report.line())
    log.info("instrument sync per segment: %s", "; ".join(report.segment_lines()))
    if guard.forced:
        log.warning(
            "instrument sync: accepted with --force although %s",
            "; ".join(c.line() for c in guard.forced),
        )
    return report


def refusal_rule(exc: BaseException) -> str:
    """The ``rule`` label of a failed sync's metric."""
    if isinstance(exc, SyncRefused):
        return exc.rule
    if isinstance(exc, InstrumentMasterTooLarge):
        return SIZE_LIMIT
    if isinstance(exc, UpstoxError):
        return DOWNLOAD
    if isinstance(exc, StoreError):
        return STORE
    return type(exc).__name__


async def sync_instruments(
    source: MasterSource,
    repo: InstrumentRepository,
    *,
    today: date,
    progress: ProgressFn,
    limits: SyncLimits | None = None,
    clock: Clock | None = None,
    metrics: SyncMetrics | None = None,
) -> tuple[SyncReport, list[Instrument]]:
    """Fetch, judge, replace; returns the report and the parsed instruments.

    Raises :class:`SyncError` (a rule refused it), ``UpstoxError`` (a damaged or
    over-size download) or ``StoreError``; the stored instruments are then unchanged.
    """
    limits = limits or SyncLimits()
    clock = clock or SystemClock()
    deadline = Deadline(clock, limits.deadline_s)
    try:
        try:
            async with asyncio.timeout(deadline.remaining_s()):
                fresh = await source.fetch(progress)
        except TimeoutError as e:
            raise deadline.refusal("the download") from e
        deadline.check("the parse")
        report = await run_blocking(
            apply_master,
            repo,
            fresh,
            today=today,
            progress=progress,
            limits=limits,
            deadline=deadline,
            covered=source.segments,
            rejected=source.rejected,
            examples=source.rejected_examples,
            metrics=metrics,
        )
    except StoreError as e:
        if not deadline.passed:
            if metrics is not None:
                metrics.refused(STORE)
            raise
        refusal = deadline.refusal("the store transaction (cut off by the database)")
        if metrics is not None:
            metrics.refused(refusal.rule)
        raise refusal from e
    except Exception as e:
        if metrics is not None:
            metrics.refused(refusal_rule(e))
        raise
    if metrics is not None:
        metrics.applied(clock.now_ns() / 1e9)
    return report, fresh
