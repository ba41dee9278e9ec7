"""The instrument sync on the embedded relational store: counts, idempotence, refusals.

Each refusal is checked against a dump of the whole SQLite table (``updated_at`` and the
expired flag included) taken before it: yesterday's table must be byte-for-byte intact.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import io
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from quant.bus.inprocess import InProcessBus
from quant.core.clock import FakeClock, datetime_to_ns
from quant.core.instruments import Instrument, InstrumentType
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.runtime.service import is_fatal
from quant.store.ports import ReplaceGuard, ReplaceResult
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.sync import main as sync_main
from quant.sync.checks import SyncRefused
from quant.sync.metrics import SyncMetrics
from quant.sync.progress import Progress
from quant.sync.service import SyncError, SyncLimits, sync_instruments, validate_master
from quant.sync.settings import SyncSettings
from quant.upstox.errors import InstrumentMasterError
from quant.upstox.instruments import UpstoxInstrumentSource

TODAY = date(2026, 11, 24)


def _eq_row(i: int, lot: int = 1, tick: float = 5.0) -> dict[str, object]:
    return {
        "segment": "NSE_EQ", "name": f"Company {i}", "exchange": "NSE",
        "isin": f"INE{i:06d}01018", "instrument_type": "EQ",
        "instrument_key": f"NSE_EQ|INE{i:06d}01018", "lot_size": lot, "freeze_quantity": 0.0,
        "exchange_token": str(1000 + i), "tick_size": tick, "trading_symbol": f"SYM{i}",
        "short_name": f"Company {i}", "security_type": "NORMAL",
    }  # fmt: skip


def _fut_row(token: int, expiry: date) -> dict[str, object]:
    ms = int((expiry.toordinal() - date(1970, 1, 1).toordinal()) * 86_400_000 + 66_599_000)
    return {
        "weekly": False, "segment": "NSE_FO", "name": "SYM1", "exchange": "NSE",
        "expiry": ms, "instrument_type": "FUT", "asset_symbol": "SYM1",
        "underlying_symbol": "SYM1", "instrument_key": f"NSE_FO|{token}", "lot_size": 500,
        "freeze_quantity": 10000.0, "exchange_token": str(token), "minimum_lot": 500,
        "asset_key": "NSE_EQ|INE00000101018", "underlying_key": "NSE_EQ|INE00000101018",
        "tick_size": 10.0, "asset_type": "EQUITY", "underlying_type": "EQUITY",
        "trading_symbol": f"SYM1 FUT {expiry:%d %b %y}".upper(), "strike_price": 0.0,
        "qty_multiplier": 1.0,
    }  # fmt: skip


class Assets:
    """A fake assets host serving one gzipped file (or damaged bytes, or slowly)."""

    def __init__(self) -> None:
        self.body = b""
        self.chunk_delay = 0.0

    def set_rows(self, rows: list[dict[str, object]]) -> None:
        self.body = gzip.compress(json.dumps(rows).encode())

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.chunk_delay:
            return httpx.Response(200, content=self.body)

        async def slowly() -> AsyncIterator[bytes]:
            for i in range(0, len(self.body), 100):
                await asyncio.sleep(self.chunk_delay)
                yield self.body[i : i + 100]

        return httpx.Response(200, content=slowly())


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "relational.sqlite"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteRelationalStore]:
    s = SqliteRelationalStore(db_path).open()
    yield s
    s.close()


def _dump(path: Path) -> list[tuple[object, ...]]:
    """Every row and column of the instruments table, read through its own connection."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT * FROM instruments ORDER BY instrument_key").fetchall()


def _refusals(registry: CollectorRegistry, rule: str) -> float:
    value = registry.get_sample_value("instrument_sync_refusals_total", {"rule": rule})
    return value or 0.0


def _source(assets: Assets) -> UpstoxInstrumentSource:
    return UpstoxInstrumentSource(
        "https://assets.test", files=("NSE",), transport=httpx.MockTransport(assets.handler)
    )


def _noop(phase: str, done: int, total: int) -> None:
    del phase, done, total


async def test_counts_idempotence_and_expiry(store: SqliteRelationalStore) -> None:
    assets = Assets()
    assets.set_rows([_eq_row(i) for i in range(10)] + [_fut_row(5001, date(2026, 11, 20))])
    report, parsed = await sync_instruments(_source(assets), store, today=TODAY, progress=_noop)
    assert (report.inserted, report.updated, report.unchanged) == (11, 0, 0)
    assert report.expired == 1  # the future that expired on the 20th
    assert len(parsed) == 11
    again, _ = await sync_instruments(_source(assets), store, today=TODAY, progress=_noop)
    assert (again.inserted, again.updated, again.unchanged, again.expired) == (0, 0, 11, 0)
    assets.set_rows([_eq_row(i, lot=5 if i == 3 else 1) for i in range(11)])
    day2, _ = await sync_instruments(_source(assets), store, today=TODAY, progress=_noop)
    assert (day2.inserted, day2.updated, day2.unchanged) == (1, 1, 9)
    sym3 = store.resolve_symbol("SYM3")
    assert sym3 is not None
    assert sym3.lot_size == 5
    assert "1 inserted, 1 updated, 9 unchanged" in day2.line()


async def test_damaged_masters_leave_the_store_untouched(store: SqliteRelationalStore) -> None:
    assets = Assets()
    assets.set_rows([_eq_row(i) for i in range(20)])
    await sync_instruments(_source(assets), store, today=TODAY, progress=_noop)
    good = assets.body
    assets.body = good[: len(good) // 2]  # truncated gzip
    with pytest.raises(InstrumentMasterError):
        await sync_instruments(_source(assets), store, today=TODAY, progress=_noop)
    assets.body = gzip.compress(b'[{"segment": "NSE_EQ", ')  # malformed JSON
    with pytest.raises(InstrumentMasterError):
        await sync_instruments(_source(assets), store, today=TODAY, progress=_noop)
    assets.set_rows([_eq_row(1)])
    with pytest.raises(SyncError, match="truncated"):
        await sync_instruments(
            _source(assets), store, today=TODAY, progress=_noop, limits=SyncLimits(min_rows=10)
        )
    assert store.search_instruments("SYM1", 50)[0].trading_symbol == "SYM1"
    assert len(store.search_instruments("Company", 100)) == 20


def test_progress_plain_when_not_a_tty() -> None:
    out = io.StringIO()
    bar = Progress(out, tty=False)
    bar.start("upsert", 100)
    for i in range(0, 101, 10):
        bar.update(i)
    bar.finish()
    assert out.getvalue().splitlines() == [
        "upsert... (of 100)", "upsert: 30/100", "upsert: 50/100", "upsert: 80/100",
        "upsert: done",
    ]  # fmt: skip
    tty = io.StringIO()
    bar = Progress(tty, tty=True, width=10)
    bar.start("download", 200)
    bar.update(100)
    bar.finish()
    assert "\rdownload     [#####-----]  50.0% 100/200" in tty.getvalue()
    failed = io.StringIO()
    bar = Progress(failed, tty=False)
    bar.start("upsert", 100)
    bar.finish(ok=False)
    assert failed.getvalue().splitlines() == ["upsert... (of 100)", "upsert: stopped"]


def test_a_master_listing_a_key_twice_is_refused() -> None:
    inst = Instrument("NSE_EQ|X", "X", "X", "NSE", "NSE_EQ", InstrumentType.EQUITY)
    validate_master([inst], 1)
    with pytest.raises(SyncError, match="twice"):
        validate_master([inst, inst], 1)
    with pytest.raises(SyncError, match="truncated"):
        validate_master([], 0)


async def _seed(store: SqliteRelationalStore, assets: Assets, n: int = 100) -> None:
    assets.set_rows([_eq_row(i) for i in range(n)] + [_fut_row(5001, date(2026, 11, 20))])
    await sync_instruments(_source(assets), store, today=TODAY, progress=_noop)


async def test_a_shrunk_segment_is_refused_untouched_counted_and_force_accepts_it(
    store: SqliteRelationalStore, db_path: Path
) -> None:
    assets = Assets()
    await _seed(store, assets)
    yesterday = _dump(db_path)
    registry = CollectorRegistry()
    metrics = SyncMetrics(registry)
    assets.set_rows([_eq_row(i, lot=7) for i in range(50)])  # half of NSE_EQ, all changed
    with pytest.raises(SyncRefused) as refused:
        await sync_instruments(_source(assets), store, today=TODAY, progress=_noop, metrics=metrics)
    assert str(refused.value) == (
        "refused by the row-count rule: NSE_EQ: 50 rows, yesterday 100 (50%) < 90%; "
        "use --force to accept"
    )
    assert _dump(db_path) == yesterday
    assert _refusals(registry, "row_count") == 1
    assert registry.get_sample_value("instrument_sync_rows", {"segment": "NSE_EQ"}) == 50
    assert registry.get_sample_value("instrument_sync_yesterday_rows", {"segment": "NSE_EQ"}) == 100
    # the expired future is not part of yesterday's live rows: NSE_FO is not compared
    report, _ = await sync_instruments(
        _source(assets), store, today=TODAY, progress=_noop,
        limits=SyncLimits(force=True), metrics=metrics,
    )  # fmt: skip
    assert (report.updated, report.unchanged) == (50, 0)
    assert report.segment_lines() == [
        "NSE_EQ: 50 rows, yesterday 100 (50%) (accepted with --force)"
    ]
    lot7 = store.resolve_symbol("SYM3")
    assert lot7 is not None and lot7.lot_size == 7
    assert registry.get_sample_value("instrument_sync_last_success_timestamp_seconds")


async def test_a_successful_sync_reports_each_segment_against_yesterday(
    store: SqliteRelationalStore, caplog: pytest.LogCaptureFixture
) -> None:
    assets = Assets()
    await _seed(store, assets)
    assets.set_rows([_eq_row(i) for i in range(95)] + [_fut_row(5002, date(2026, 12, 31))])
    with caplog.at_level("INFO", logger="quant.sync.service"):
        report, _ = await sync_instruments(_source(assets), store, today=TODAY, progress=_noop)
    assert report.segment_lines() == [
        "NSE_EQ: 95 rows, yesterday 100 (95%)",
        "NSE_FO: 1 rows, yesterday none (new)",
    ]
    assert "NSE_EQ: 95 rows, yesterday 100 (95%); NSE_FO: 1 rows" in caplog.text


async def test_many_impossible_rows_refuse_the_file_and_a_few_are_dropped_and_counted(
    store: SqliteRelationalStore, db_path: Path
) -> None:
    assets = Assets()
    await _seed(store, assets)
    yesterday = _dump(db_path)
    registry = CollectorRegistry()
    metrics = SyncMetrics(registry)
    rows = [_eq_row(i, lot=0 if i % 10 == 0 else 1) for i in range(100)]  # 10% lot 0
    assets.set_rows(rows)
    with pytest.raises(SyncRefused, match=r"bad-rows rule: 10 of 100 rows \(10.0%\)"):
        await sync_instruments(_source(assets), store, today=TODAY, progress=_noop, metrics=metrics)
    assert _dump(db_path) == yesterday
    assert _refusals(registry, "bad_rows") == 1
    # one bad row in 100 (1%): dropped and counted; yesterday's version of it stays
    rows = [_eq_row(i, lot=2, tick=-5.0 if i == 4 else 5.0) for i in range(100)]
    assets.set_rows(rows)
    report, _ = await sync_instruments(
        _source(assets), store, today=TODAY, progress=_noop, metrics=metrics
    )
    assert (report.total, report.updated, report.dropped) == (99, 99, 1)
    assert "1 impossible rows dropped" in report.line()
    sym4 = store.resolve_symbol("SYM4")
    assert sym4 is not None and (sym4.lot_size, sym4.tick_size_paise) == (1, 5)
    labels = {"segment": "NSE_EQ", "reason": "non-positive tick size"}
    assert registry.get_sample_value("instrument_sync_dropped_rows_total", labels) == 1


async def test_a_download_past_the_deadline_is_refused(
    store: SqliteRelationalStore, db_path: Path
) -> None:
    assets = Assets()
    await _seed(store, assets)
    yesterday = _dump(db_path)
    assets.set_rows([_eq_row(i, lot=3) for i in range(100)])
    assets.chunk_delay = 0.2  # ~20 chunks: 4 s, against a 0.5 s deadline
    registry = CollectorRegistry()
    with pytest.raises(SyncRefused, match=r"deadline rule: .* longer than 0.5 s .*download"):
        await sync_instruments(
            _source(assets), store, today=TODAY, progress=_noop,
            limits=SyncLimits(deadline_s=0.5), metrics=SyncMetrics(registry),
        )  # fmt: skip
    assert _dump(db_path) == yesterday
    assert _refusals(registry, "deadline") == 1


class _LateStore:
    """The real store, with the clock jumping past the deadline just before the commit."""

    def __init__(self, inner: SqliteRelationalStore, clock: FakeClock) -> None:
        self._inner = inner
        self._clock = clock

    def replace_instruments(
        self, instruments: Iterable[Instrument], *, today: date, guard: ReplaceGuard
    ) -> ReplaceResult:
        clock = self._clock

        class Late:
            def before_write(self, live_counts: Mapping[str, int]) -> None:
                guard.before_write(live_counts)

            def before_commit(self) -> None:
                clock.advance(3600)
                guard.before_commit()

            def remaining_s(self) -> float | None:
                return guard.remaining_s()

        return self._inner.replace_instruments(instruments, today=today, guard=Late())


async def test_the_deadline_passing_inside_the_transaction_rolls_back_every_write(
    store: SqliteRelationalStore, db_path: Path
) -> None:
    assets = Assets()
    await _seed(store, assets)
    yesterday = _dump(db_path)
    assets.set_rows([_eq_row(i, lot=9) for i in range(120)])  # 20 inserts, 100 updates
    clock = FakeClock(0)
    with pytest.raises(SyncRefused, match=r"deadline rule: .*rolled back"):
        await sync_instruments(
            _source(assets), _LateStore(store, clock), today=TODAY, progress=_noop, clock=clock
        )
    assert _dump(db_path) == yesterday


async def test_the_quant_up_service_applies_the_same_rules_on_sqlite(
    store: SqliteRelationalStore, db_path: Path
) -> None:
    assets = Assets()
    await _seed(store, assets)
    yesterday = _dump(db_path)
    half = [i for i in store.list_instruments() if i.segment == "NSE_EQ"][:40]
    registry, board = new_registry_and_board()
    deps = Deps(
        clock=FakeClock(datetime_to_ns(datetime(2026, 11, 24, 3, tzinfo=UTC))),
        registry=registry, board=board, bus=InProcessBus(),
        instruments=FixedCatalog(half, "a test", segments=frozenset({"NSE_EQ"})),
        relational=store,
    )  # fmt: skip
    service = sync_main.build(SyncSettings.model_validate({}), deps)
    with pytest.raises(SyncRefused, match="NSE_EQ: 40 rows, yesterday 100 \\(40%\\)") as refused:
        await service.run(asyncio.Event())
    assert is_fatal(refused.value)  # reported once by the supervisor, not retried in a loop
    assert _dump(db_path) == yesterday
    assert _refusals(registry, "row_count") == 1
    bad = FixedCatalog(
        half, "a test", rejected={("NSE_EQ", "non-positive lot size"): 60},
        segments=frozenset({"NSE_EQ"}),
    )  # fmt: skip
    service = sync_main.build(
        SyncSettings.model_validate({}),
        dataclasses.replace(deps, instruments=bad, registry=CollectorRegistry()),
    )
    with pytest.raises(SyncRefused, match="bad-rows rule: 60 of 100 rows"):
        await service.run(asyncio.Event())
    assert _dump(db_path) == yesterday


async def test_quant_up_judges_expiry_by_the_simulators_trading_day(
    store: SqliteRelationalStore, db_path: Path
) -> None:
    """The simulator trades the next trading day: contracts expiring today (by the wall
    clock) are gone from its master and must not count as yesterday's rows."""
    assets = Assets()
    today, tomorrow = date(2026, 11, 24), date(2026, 11, 25)
    ending = [dict(_fut_row(6000 + i, today), trading_symbol=f"E{i}") for i in range(5)]
    later = [dict(_fut_row(7000 + i, date(2026, 12, 29)), trading_symbol=f"L{i}") for i in range(5)]
    assets.set_rows(ending + later)
    await sync_instruments(_source(assets), store, today=today, progress=_noop)
    fresh = [i for i in store.list_instruments() if i.expiry != today]
    wall = FakeClock(datetime_to_ns(datetime(2026, 11, 24, 12, tzinfo=UTC)))  # 17:30 IST

    def service(trading_day: date | None) -> sync_main.InstrumentSyncService:
        catalog = FixedCatalog(fresh, "the simulator", trading_day=trading_day)
        registry, board = new_registry_and_board()
        deps = Deps(clock=wall, registry=registry, board=board, bus=InProcessBus(),
                    instruments=catalog, relational=store)  # fmt: skip
        return sync_main.build(SyncSettings.model_validate({}), deps)

    yesterday = _dump(db_path)
    with pytest.raises(SyncRefused, match="NSE_FO: 5 rows, yesterday 10 \\(50%\\)"):
        await service(None).run(asyncio.Event())  # judged by the wall clock's date
    assert _dump(db_path) == yesterday
    await service(tomorrow).run(asyncio.Event())
    assert {i.instrument_key for i in store.list_instruments()} == {
        i.instrument_key for i in fresh
    }  # the contracts that expired today are flagged
