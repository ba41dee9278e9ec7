"""The instrument sync on the embedded relational store: counts, idempotence, refusals."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from quant.core.instruments import Instrument, InstrumentType
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.sync.progress import Progress
from quant.sync.service import SyncError, sync_instruments, validate_master
from quant.upstox.errors import InstrumentMasterError
from quant.upstox.instruments import UpstoxInstrumentSource

TODAY = date(2026, 11, 24)


def _eq_row(i: int, lot: int = 1) -> dict[str, object]:
    return {
        "segment": "NSE_EQ", "name": f"Company {i}", "exchange": "NSE",
        "isin": f"INE{i:06d}01018", "instrument_type": "EQ",
        "instrument_key": f"NSE_EQ|INE{i:06d}01018", "lot_size": lot, "freeze_quantity": 0.0,
        "exchange_token": str(1000 + i), "tick_size": 5.0, "trading_symbol": f"SYM{i}",
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
    """A fake assets host serving one gzipped file (or damaged bytes)."""

    def __init__(self) -> None:
        self.body = b""

    def set_rows(self, rows: list[dict[str, object]]) -> None:
        self.body = gzip.compress(json.dumps(rows).encode())

    def handler(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=self.body)


@pytest.fixture
def store() -> Iterator[SqliteRelationalStore]:
    s = SqliteRelationalStore().open()
    yield s
    s.close()


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
        await sync_instruments(_source(assets), store, today=TODAY, progress=_noop, min_rows=10)
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


def test_a_master_listing_a_key_twice_is_refused() -> None:
    inst = Instrument("NSE_EQ|X", "X", "X", "NSE", "NSE_EQ", InstrumentType.EQUITY)
    validate_master([inst], 1)
    with pytest.raises(SyncError, match="twice"):
        validate_master([inst, inst], 1)
    with pytest.raises(SyncError, match="truncated"):
        validate_master([], 0)
