"""The instrument sync on fakes: counts, idempotence, and refusing damaged masters."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

import pytest

from quant.core.instruments import Instrument, InstrumentType
from quant.sync.progress import Progress
from quant.sync.service import ProgressFn, SyncError, sync_instruments


def _eq(i: int, lot: int = 1) -> Instrument:
    return Instrument(
        f"NSE_EQ|INE{i:09d}",
        f"SYM{i}",
        f"Company {i}",
        "NSE",
        "NSE_EQ",
        InstrumentType.EQUITY,
        lot_size=lot,
    )


class Source:
    def __init__(self, rows: list[Instrument] | Exception) -> None:
        self.rows = rows

    async def fetch(self, progress: ProgressFn) -> list[Instrument]:
        if isinstance(self.rows, Exception):
            raise self.rows
        progress("parse", len(self.rows), len(self.rows))
        return list(self.rows)


class Repo:
    def __init__(self) -> None:
        self.active: dict[str, Instrument] = {}
        self.expired: set[str] = set()
        self.transactions = 0

    def active_instruments(self) -> Mapping[str, Instrument]:
        return dict(self.active)

    def apply_master(
        self, upserts: Sequence[Instrument], expired: Sequence[str], progress: ProgressFn
    ) -> None:
        self.transactions += 1
        for inst in upserts:
            self.active[inst.instrument_key] = inst
        for key in expired:
            self.expired.add(key)
            del self.active[key]


def _noop(phase: str, done: int, total: int) -> None:
    del phase, done, total


async def test_counts_and_idempotence() -> None:
    repo = Repo()
    first = await sync_instruments(Source([_eq(i) for i in range(10)]), repo, progress=_noop)
    assert (first.inserted, first.updated, first.expired) == (10, 0, 0)
    again = await sync_instruments(Source([_eq(i) for i in range(10)]), repo, progress=_noop)
    assert (again.inserted, again.updated, again.unchanged, again.expired) == (0, 0, 10, 0)
    assert repo.transactions == 1  # nothing to write the second time
    day2 = [_eq(i, lot=5 if i == 3 else 1) for i in range(1, 10)] + [_eq(42)]
    report = await sync_instruments(Source(day2), repo, progress=_noop)
    assert (report.inserted, report.updated, report.unchanged, report.expired) == (1, 1, 8, 1)
    assert repo.expired == {_eq(0).instrument_key}
    assert repo.active[_eq(3).instrument_key].lot_size == 5
    assert "1 inserted, 1 updated, 8 unchanged, 1 expired" in report.line()


async def test_damaged_or_truncated_master_leaves_the_store_untouched() -> None:
    repo = Repo()
    await sync_instruments(Source([_eq(i) for i in range(100)]), repo, progress=_noop)
    before = dict(repo.active)
    with pytest.raises(EOFError):
        await sync_instruments(Source(EOFError("truncated gzip")), repo, progress=_noop)
    with pytest.raises(SyncError, match="truncated"):
        await sync_instruments(Source([_eq(i) for i in range(10)]), repo, progress=_noop)
    with pytest.raises(SyncError, match="empty"):
        await sync_instruments(Source([]), repo, progress=_noop)
    with pytest.raises(SyncError, match="twice"):
        await sync_instruments(Source([_eq(1)] * 100), repo, progress=_noop)
    assert repo.active == before
    assert repo.transactions == 1


def test_diff_notices_expiry_changes() -> None:
    from quant.sync.diff import diff_master

    fut = Instrument(
        "NSE_FO|1", "X FUT", "X", "NSE", "NSE_FO", InstrumentType.FUTURE, expiry=date(2026, 11, 26)
    )
    diff = diff_master([replace(fut, expiry=date(2026, 12, 31))], {fut.instrument_key: fut})
    assert diff.summary() == {"inserted": 0, "updated": 1, "unchanged": 0, "expired": 0}


def test_progress_plain_when_not_a_tty() -> None:
    out = io.StringIO()
    bar = Progress(out, tty=False)
    bar.start("upsert", 100)
    for i in range(0, 101, 10):
        bar.update(i)
    bar.finish()
    assert out.getvalue().splitlines() == [
        "upsert... (100 items)",
        "upsert: 30/100",
        "upsert: 50/100",
        "upsert: 80/100",
        "upsert: done",
    ]
    tty = io.StringIO()
    bar = Progress(tty, tty=True, width=10)
    bar.start("download", 200)
    bar.update(100)
    bar.finish()
    assert "\rdownload     [#####-----]  50.0% 100/200" in tty.getvalue()
