"""``StoreInstrumentLookup`` (what ``quant gateway`` resolves symbols with) on a SQLite store.

Its answers are compared with the in-memory ``InstrumentIndex`` that ``quant up`` uses; it
serves from a snapshot of the table and reloads it only when the table changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date

import pytest

from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.gateway.instrument_store import StoreInstrumentLookup
from quant.gateway.main import refresh_instruments
from quant.store.ports import StoreError
from quant.store.sqlite_relational import SqliteRelationalStore

NIFTY = Instrument(
    "NSE_INDEX|Nifty 50", "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX
)
REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY,
)  # fmt: skip


def _option(key: str, kind: InstrumentType, strike: int, expiry: date) -> Instrument:
    return Instrument(
        key,
        f"NIFTY {strike} {kind.value} {expiry:%d %b %y}".upper(),
        "NIFTY",
        "NSE",
        "NSE_FO",
        kind,
        lot_size=75,
        expiry=expiry,
        strike_paise=strike * 100,
        underlying_key=NIFTY.instrument_key,
    )


NEAR, FAR = date(2026, 11, 26), date(2026, 12, 31)
OPTIONS = [
    _option("NSE_FO|4", InstrumentType.PUT, 25000, FAR),
    _option("NSE_FO|1", InstrumentType.PUT, 25000, NEAR),
    _option("NSE_FO|2", InstrumentType.CALL, 25000, NEAR),
    _option("NSE_FO|3", InstrumentType.CALL, 24900, NEAR),
]
FUT = Instrument(
    "NSE_FO|9", "NIFTY FUT 26 NOV 26", "NIFTY", "NSE", "NSE_FO", InstrumentType.FUTURE,
    expiry=NEAR, underlying_key=NIFTY.instrument_key,
)  # fmt: skip
ALL = [NIFTY, REL, FUT, *OPTIONS]


@pytest.fixture
def lookup() -> Iterator[StoreInstrumentLookup]:
    store = SqliteRelationalStore().open()
    store.upsert_instruments(ALL)
    lookup = StoreInstrumentLookup(store)
    assert lookup.refresh()
    yield lookup
    store.close()


def test_resolve_by_symbol_key_and_index_name(lookup: StoreInstrumentLookup) -> None:
    assert lookup.resolve("RELIANCE") == REL
    assert lookup.resolve("NSE_EQ|INE002A01018") == REL
    assert lookup.resolve("Nifty 50") == NIFTY
    assert lookup.resolve("NIFTY") == NIFTY
    assert lookup.resolve("NOSUCH") is None
    assert lookup.resolve("  ") is None
    assert lookup.get("NSE_FO|2") == OPTIONS[2]


def test_option_chain_matches_the_in_memory_index(lookup: StoreInstrumentLookup) -> None:
    chain = lookup.option_chain(NIFTY.instrument_key)
    assert chain == InstrumentIndex.build(ALL).option_chain(NIFTY.instrument_key)
    assert [i.instrument_key for i in chain] == ["NSE_FO|3", "NSE_FO|2", "NSE_FO|1", "NSE_FO|4"]
    assert lookup.option_chain(REL.instrument_key) == []
    assert lookup.option_chain("NSE_EQ|UNKNOWN") == []


def test_search_finds_by_symbol_and_name(lookup: StoreInstrumentLookup) -> None:
    assert REL in lookup.search("RELIANCE")
    assert REL in lookup.search("industries")
    assert len(lookup.search("NIFTY", limit=2)) == 2


def test_search_finds_by_isin_and_instrument_key(lookup: StoreInstrumentLookup) -> None:
    assert lookup.search("INE002A01018") == [REL]
    assert lookup.search("nse_eq|ine002a01018") == [REL]


class CountingRepo:
    """A SQLite store that counts full reads of the instrument table."""

    def __init__(self, store: SqliteRelationalStore) -> None:
        self.store = store
        self.lists = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def list_instruments(self) -> list[Instrument]:
        self.lists += 1
        return self.store.list_instruments()


def test_reloads_only_when_the_table_changed() -> None:
    store = SqliteRelationalStore().open()
    try:
        repo = CountingRepo(store)
        lookup = StoreInstrumentLookup(repo)  # type: ignore[arg-type]
        assert lookup.search("RELIANCE") == []  # empty before the first load
        assert lookup.refresh() and repo.lists == 1 and len(lookup) == 0
        store.upsert_instruments(ALL)
        assert lookup.refresh() and repo.lists == 2 and len(lookup) == len(ALL)
        assert not lookup.refresh() and repo.lists == 2  # unchanged: no reload
        assert lookup.search("RELIANCE") == [REL]
        assert store.mark_expired(date(2026, 12, 1)) == 4  # the near expiry
        assert lookup.refresh() and repo.lists == 3
        assert lookup.get("NSE_FO|1") is None and lookup.get("NSE_FO|4") is not None
    finally:
        store.close()


async def test_the_gateway_refresher_reloads_and_survives_a_failing_store() -> None:
    class FlakyRepo(CountingRepo):
        def instruments_version(self) -> tuple[int, str]:
            self.checks = getattr(self, "checks", 0) + 1
            if self.checks == 2:
                raise StoreError("PostgreSQL: connection refused")
            return self.store.instruments_version()

    store = SqliteRelationalStore().open()
    try:
        repo = FlakyRepo(store)
        lookup = StoreInstrumentLookup(repo)  # type: ignore[arg-type]
        task = asyncio.create_task(refresh_instruments(lookup, 0.01))
        try:
            async with asyncio.timeout(30):
                while True:  # the first check loads the (empty) table, the second fails
                    if getattr(repo, "checks", 0) >= 3:
                        break
                    await asyncio.sleep(0.01)
                store.upsert_instruments(ALL)
                while True:  # a later check sees the change
                    if lookup.search("RELIANCE") == [REL]:
                        break
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
        assert not task.done() or task.cancelled()
    finally:
        store.close()
