"""The instrument sync's sanity rules: when a new master is refused, and the refusal text.

Pure logic (no I/O; the clock is injected), used by :mod:`quant.sync.service`. Every
refusal is a :class:`SyncRefused` naming its ``rule`` (the label of the
``instrument_sync_refusals_total`` metric) with a one-line message giving the numbers;
the stored instruments are then left exactly as they were (the replacement is one
transaction, and every rule is judged before it commits). The rules:

* ``row_count``: a segment listed by the downloaded files has fewer than
  ``min_segment_fraction`` (default 90%) of the rows it has live in the store today
  (yesterday's master, less what expired since) → refused; ``--force`` accepts it.
  A segment the store does not have yet is always accepted.
* ``bad_rows``: impossible rows (non-positive lot or tick size, no key or symbol, a key
  listed twice with different values, a trading symbol twice in one segment, a row that
  cannot be parsed; see :mod:`quant.core.instrument_checks`) are dropped one by one and
  counted: a few bad rows must not cost the day's master. More than
  ``max_bad_row_fraction`` (default 1%) of the master's rows is a broken file → refused;
  ``--force`` accepts the good rows (the bad ones are still dropped).
* ``too_few_rows`` / ``duplicate_key``: a master under ``min_instruments`` rows, or
  listing a key twice across its files → refused.
* ``size_limit``: a download over ``max_download_bytes`` (streamed; abandoned as soon as
  it passes the limit) or inflating past ``max_master_bytes`` → refused.
* ``deadline``: the whole sync (download, parse, checks, the transaction) took longer
  than ``deadline_s`` → refused; checked between phases and once more just before the
  commit, and the database cuts off statements running past it.
* ``download`` / ``store``: a damaged file (HTTP error, truncated gzip, malformed JSON)
  or a store error: the sync fails and changes nothing.

``--force`` never overrides the size limit or the deadline (raise the settings instead).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass

from quant.core.clock import Clock
from quant.core.instruments import Instrument
from quant.runtime.service import FatalServiceError

ROW_COUNT = "row_count"
BAD_ROWS = "bad_rows"
TOO_FEW_ROWS = "too_few_rows"
DUPLICATE_KEY = "duplicate_key"
SIZE_LIMIT = "size_limit"
DEADLINE = "deadline"
DOWNLOAD = "download"
STORE = "store"


class SyncError(FatalServiceError):
    """The sync did not apply a master (the stored data is unchanged); not worth a
    restart in ``quant up``: the same master would be refused again."""


class SyncRefused(SyncError):
    """A sanity rule refused the master; ``rule`` names it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class SyncLimits:
    """The thresholds of the rules above (from ``SyncSettings``; ``force`` from the CLI)."""

    min_rows: int = 1
    min_segment_fraction: float = 0.9
    max_bad_row_fraction: float = 0.01
    deadline_s: float = 600.0
    force: bool = False


@dataclass(frozen=True)
class SegmentCount:
    """A segment's rows in the new master against the store's live rows (yesterday)."""

    segment: str
    rows: int
    yesterday: int

    @property
    def fraction(self) -> float | None:
        return self.rows / self.yesterday if self.yesterday else None

    def line(self) -> str:
        if self.fraction is None:
            return f"{self.segment}: {self.rows:,} rows, yesterday none (new)"
        return (
            f"{self.segment}: {self.rows:,} rows, yesterday {self.yesterday:,} "
            f"({self.fraction:.0%})"
        )


class Deadline:
    """The sync's overall deadline, on the injected clock."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self._seconds = seconds
        self._end_ns = clock.now_ns() + int(seconds * 1e9)

    def remaining_s(self) -> float:
        return max((self._end_ns - self._clock.now_ns()) / 1e9, 0.0)

    @property
    def passed(self) -> bool:
        return self._clock.now_ns() >= self._end_ns

    def refusal(self, phase: str) -> SyncRefused:
        return SyncRefused(
            DEADLINE,
            f"refused by the deadline rule: the sync took longer than {self._seconds:g} s "
            f"(deadline_s), during {phase}",
        )

    def check(self, phase: str) -> None:
        """Raise the ``deadline`` refusal if the deadline has passed."""
        if self.passed:
            raise self.refusal(phase)


def compare_segments(
    today: Mapping[str, int], yesterday: Mapping[str, int], covered: Set[str]
) -> list[SegmentCount]:
    """Per segment of the new master or of yesterday's within the files ``covered``."""
    segments = set(today) | (set(yesterday) & set(covered))
    return [SegmentCount(s, today.get(s, 0), yesterday.get(s, 0)) for s in sorted(segments)]


def shrunk_segments(counts: list[SegmentCount], min_fraction: float) -> list[SegmentCount]:
    return [c for c in counts if c.yesterday > 0 and c.rows < min_fraction * c.yesterday]


def check_row_counts(counts: list[SegmentCount], limits: SyncLimits) -> list[SegmentCount]:
    """The ``row_count`` rule: raise unless forced; returns the shrunk segments."""
    shrunk = shrunk_segments(counts, limits.min_segment_fraction)
    if shrunk and not limits.force:
        detail = "; ".join(f"{c.line()} < {limits.min_segment_fraction:.0%}" for c in shrunk)
        raise SyncRefused(
            ROW_COUNT, f"refused by the row-count rule: {detail}; use --force to accept"
        )
    return shrunk


def check_bad_rows(
    kept: int,
    rejected: Mapping[tuple[str, str], int],
    examples: Mapping[str, str],
    limits: SyncLimits,
) -> int:
    """The ``bad_rows`` rule: raise if too large a share of the master is impossible
    (unless forced); returns how many rows were dropped."""
    bad = sum(rejected.values())
    total = kept + bad
    if not total or bad <= limits.max_bad_row_fraction * total or limits.force:
        return bad
    by_reason: dict[str, int] = {}
    for (_, reason), n in rejected.items():
        by_reason[reason] = by_reason.get(reason, 0) + n
    worst = sorted(by_reason.items(), key=lambda kv: -kv[1])
    detail = ", ".join(
        f"{n:,} {reason}" + (f" (e.g. {examples[reason]})" if reason in examples else "")
        for reason, n in worst
    )
    raise SyncRefused(
        BAD_ROWS,
        f"refused by the bad-rows rule: {bad:,} of {total:,} rows ({bad / total:.1%}) "
        f"are impossible, more than {limits.max_bad_row_fraction:.1%}: {detail}; "
        "fewer are dropped and counted; use --force to accept the good rows",
    )


def validate_master(instruments: list[Instrument], min_rows: int) -> None:
    """The ``too_few_rows`` and ``duplicate_key`` rules (raise :class:`SyncRefused`)."""
    if len(instruments) < max(min_rows, 1):
        raise SyncRefused(
            TOO_FEW_ROWS,
            f"refused by the too-few-rows rule: the instrument master has "
            f"{len(instruments):,} rows (< {max(min_rows, 1):,}); refusing it as truncated",
        )
    seen: set[str] = set()
    for inst in instruments:
        if inst.instrument_key in seen:
            raise SyncRefused(
                DUPLICATE_KEY,
                f"refused by the duplicate-key rule: the instrument master lists "
                f"{inst.instrument_key!r} twice",
            )
        seen.add(inst.instrument_key)
