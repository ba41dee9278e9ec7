"""Symbol resolution over the instrument master (quant.core.symbols)."""

from __future__ import annotations

from datetime import date

from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex

NIFTY = Instrument(
    "NSE_INDEX|Nifty 50", "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX
)
REL_NSE = Instrument(
    "NSE_EQ|INE002A01018",
    "RELIANCE",
    "RELIANCE INDUSTRIES LTD",
    "NSE",
    "NSE_EQ",
    InstrumentType.EQUITY,
    tick_size_paise=10,
)
REL_BSE = Instrument(
    "BSE_EQ|INE002A01018",
    "RELIANCE",
    "RELIANCE INDUSTRIES LTD",
    "BSE",
    "BSE_EQ",
    InstrumentType.EQUITY,
)


def _opt(token: str, strike: int, kind: InstrumentType, expiry: date) -> Instrument:
    sym = f"NIFTY {strike} {kind.value} {expiry:%d %b %y}".upper()
    return Instrument(
        f"NSE_FO|{token}",
        sym,
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
    _opt("1", 25000, InstrumentType.CALL, NEAR),
    _opt("2", 25000, InstrumentType.PUT, NEAR),
    _opt("3", 24900, InstrumentType.CALL, NEAR),
    _opt("4", 25000, InstrumentType.CALL, FAR),
]
INDEX = InstrumentIndex.build([NIFTY, REL_BSE, REL_NSE, *OPTIONS])


def test_resolves_key_symbol_and_index_name_case_insensitively() -> None:
    assert INDEX.resolve("NSE_EQ|INE002A01018") is REL_NSE
    assert INDEX.resolve("reliance") is REL_NSE  # NSE preferred over BSE
    assert INDEX.resolve("BSE:RELIANCE") is REL_BSE
    assert INDEX.resolve("NIFTY 50") is NIFTY
    assert INDEX.resolve("nse_index|nifty 50") is NIFTY
    assert INDEX.resolve("NIFTY 25000 CE 26 NOV 26") is OPTIONS[0]
    assert INDEX.resolve("NOPE") is None
    assert INDEX.resolve("NSE_EQ|INE000000000") is None


def test_option_chain_sorted_by_expiry_strike_and_side() -> None:
    chain = INDEX.option_chain(NIFTY.instrument_key)
    assert [o.instrument_key for o in chain] == ["NSE_FO|3", "NSE_FO|1", "NSE_FO|2", "NSE_FO|4"]


def test_search_ranks_exact_then_prefix_and_limits() -> None:
    hits = INDEX.search("reli")
    assert [h.instrument_key for h in hits] == [REL_NSE.instrument_key, REL_BSE.instrument_key]
    assert INDEX.search("NIFTY", limit=2)[0] is NIFTY
    assert INDEX.search("  ") == []


def test_replacing_an_instrument_updates_lookups() -> None:
    index = InstrumentIndex.build([REL_NSE])
    renamed = Instrument(
        REL_NSE.instrument_key, "RIL", "RELIANCE", "NSE", "NSE_EQ", InstrumentType.EQUITY
    )
    index.add(renamed)
    assert index.resolve("RIL") is renamed
    assert index.resolve("RELIANCE") is None
    assert len(index) == 1
