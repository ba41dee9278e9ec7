"""Instruments as the domain sees them, parsed from the Upstox instrument master.

An ``instrument_key`` is ``SEGMENT|IDENTIFIER`` (ISIN for equities, the index name for
indices, the exchange token for derivatives). Prices and tick sizes are paise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

SEGMENTS = frozenset(
    {
        "NSE_EQ",
        "NSE_FO",
        "NCD_FO",
        "BSE_EQ",
        "BSE_FO",
        "BCD_FO",
        "MCX_FO",
        "NSE_COM",
        "NSE_INDEX",
        "BSE_INDEX",
        "MCX_INDEX",
    }
)
_KEY_RE = re.compile(r"^(?P<segment>[A-Z_]+)\|(?P<ident>[\w ]+)$")


class InstrumentType(StrEnum):
    """Upstox's ``instrument_type`` values we distinguish (equity series collapse to EQ)."""

    EQUITY = "EQ"
    INDEX = "INDEX"
    FUTURE = "FUT"
    CALL = "CE"
    PUT = "PE"


def validate_instrument_key(key: str) -> str:
    """Return ``key`` if it is a well-formed instrument key, else raise ``ValueError``."""
    match = _KEY_RE.match(key)
    if match is None or match.group("segment") not in SEGMENTS:
        raise ValueError(
            f"malformed instrument_key {key!r}: expected SEGMENT|IDENTIFIER "
            f"with SEGMENT one of {', '.join(sorted(SEGMENTS))}"
        )
    return key


@dataclass(frozen=True, slots=True)
class Instrument:
    """One row of the instrument master."""

    instrument_key: str
    trading_symbol: str
    name: str
    exchange: str
    segment: str
    instrument_type: InstrumentType
    lot_size: int = 1
    tick_size_paise: int = 5
    freeze_quantity: int = 0
    exchange_token: str = ""
    isin: str = ""
    expiry: date | None = None
    strike_paise: int | None = None
    underlying_key: str = ""
    underlying_symbol: str = ""
    weekly: bool = False

    @property
    def is_option(self) -> bool:
        return self.instrument_type in (InstrumentType.CALL, InstrumentType.PUT)

    @property
    def is_index(self) -> bool:
        return self.instrument_type is InstrumentType.INDEX
