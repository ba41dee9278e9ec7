"""``StoreInstrumentLookup`` (what ``quant gateway`` resolves symbols with) on a SQLite store.

Its answers are compared with the in-memory ``InstrumentIndex`` that ``quant up`` uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.gateway.instrument_store import StoreInstrumentLookup
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
    yield StoreInstrumentLookup(store)
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
