"""Universe resolution: names and keys to (key, mode) by instrument type."""

from __future__ import annotations

from datetime import date

import pytest

from quant.core.events import FeedMode
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.core.universe import ModePolicy, resolve_universe

NIFTY = Instrument(
    "NSE_INDEX|Nifty 50", "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX
)
TCS = Instrument("NSE_EQ|INE467B01029", "TCS", "TCS", "NSE", "NSE_EQ", InstrumentType.EQUITY)
FUT = Instrument(
    "NSE_FO|9",
    "NIFTY FUT 26 NOV 26",
    "NIFTY",
    "NSE",
    "NSE_FO",
    InstrumentType.FUTURE,
    expiry=date(2026, 11, 26),
    underlying_key=NIFTY.instrument_key,
)
CE = Instrument(
    "NSE_FO|1",
    "NIFTY 25000 CE 26 NOV 26",
    "NIFTY",
    "NSE",
    "NSE_FO",
    InstrumentType.CALL,
    expiry=date(2026, 11, 26),
    strike_paise=2_500_000,
    underlying_key=NIFTY.instrument_key,
)
LATER = Instrument(
    "NSE_FO|2",
    "NIFTY 25000 CE 31 DEC 26",
    "NIFTY",
    "NSE",
    "NSE_FO",
    InstrumentType.CALL,
    expiry=date(2026, 12, 31),
    strike_paise=2_500_000,
    underlying_key=NIFTY.instrument_key,
)
INDEX = InstrumentIndex.build([NIFTY, TCS, FUT, CE, LATER])


def test_modes_follow_instrument_type_and_policy() -> None:
    policy = ModePolicy(equity=FeedMode.LTPC, option=FeedMode.OPTION_GREEKS)
    u = resolve_universe(["NIFTY 50", "tcs", "OPTIONS:NIFTY 50", "FUTURES:NIFTY 50"], INDEX, policy)
    assert u.modes == {
        NIFTY.instrument_key: FeedMode.FULL,
        TCS.instrument_key: FeedMode.LTPC,
        CE.instrument_key: FeedMode.OPTION_GREEKS,  # nearest expiry only
        FUT.instrument_key: FeedMode.FULL,
    }
    assert u.unresolved == []


def test_unknown_names_are_reported_and_raw_keys_pass_through() -> None:
    u = resolve_universe(["NOSUCH", "NSE_EQ|INE000", "bad|key!", "OPTIONS:TCS"], INDEX)
    assert u.modes == {"NSE_EQ|INE000": FeedMode.FULL}
    assert u.unresolved == ["NOSUCH", "bad|key!", "OPTIONS:TCS"]


def test_policy_refuses_modes_that_do_not_fit_the_type() -> None:
    with pytest.raises(ValueError, match="options subscribe"):
        ModePolicy(option=FeedMode.LTPC)
    with pytest.raises(ValueError, match="equities subscribe"):
        ModePolicy(equity=FeedMode.OPTION_GREEKS)
