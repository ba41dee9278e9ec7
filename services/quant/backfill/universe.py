"""Which instruments a backfill is for: symbols, a universe file or a named universe.

Symbols are trading symbols (``RELIANCE``, ``NSE:INFY``), index names (``NIFTY 50``) or
instrument keys, resolved through the instrument master
(:class:`~quant.core.symbols.InstrumentIndex`); every unknown one is named in one
:class:`UnknownSymbols` error before any request. ``--universe`` is a file (one symbol a
line; blank lines and ``#`` comments skipped) or a name of :data:`NAMED_UNIVERSES`:
``NSE_EQ`` (every equity of the NSE_EQ segment in the master) or ``NIFTY50`` (the index's
constituents, as listed here; those the master lacks are reported unknown). Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from quant.backfill.plan import BadRequest
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex

NIFTY50: tuple[str, ...] = (
    "HDFCBANK", "RELIANCE", "ICICIBANK", "INFY", "BHARTIARTL", "LT", "ITC", "TCS", "SBIN",
    "AXISBANK", "KOTAKBANK", "M&M", "BAJFINANCE", "HINDUNILVR", "SUNPHARMA", "HCLTECH",
    "MARUTI", "NTPC", "TITAN", "ULTRACEMCO", "ETERNAL", "TATAMOTORS", "POWERGRID", "BEL",
    "TATASTEEL", "ASIANPAINT", "BAJAJFINSV", "ADANIPORTS", "JSWSTEEL", "TECHM", "ONGC",
    "COALINDIA", "HINDALCO", "GRASIM", "TRENT", "JIOFIN", "SHRIRAMFIN", "SBILIFE", "HDFCLIFE",
    "NESTLEIND", "CIPLA", "BAJAJ-AUTO", "DRREDDY", "TATACONSUM", "EICHERMOT", "APOLLOHOSP",
    "ADANIENT", "INDUSINDBK", "HEROMOTOCO", "BPCL",
)  # fmt: skip


def _nse_equities(instruments: Iterable[Instrument]) -> list[str]:
    return sorted(
        i.instrument_key
        for i in instruments
        if i.segment == "NSE_EQ" and i.instrument_type is InstrumentType.EQUITY
    )


NAMED_UNIVERSES: Mapping[str, Callable[[Iterable[Instrument]], Sequence[str]]] = {
    "NSE_EQ": _nse_equities,
    "NIFTY50": lambda _: NIFTY50,
}


class UnknownSymbols(BadRequest):
    """Symbols the instrument master does not know."""

    def __init__(self, symbols: Sequence[str]) -> None:
        shown = ", ".join(repr(s) for s in symbols[:20])
        more = f" and {len(symbols) - 20} more" if len(symbols) > 20 else ""
        super().__init__(
            f"unknown symbol{'s' if len(symbols) > 1 else ''} (not in the instrument master): "
            f"{shown}{more}; use a trading symbol (RELIANCE, NSE:INFY), an index name "
            "(NIFTY 50) or an instrument key (NSE_EQ|INE002A01018)"
        )
        self.symbols = tuple(symbols)


def split_symbols(text: str) -> list[str]:
    """``"RELIANCE,INFY,NIFTY 50"`` -> the three (spaces inside a name kept)."""
    return [s.strip() for s in text.split(",") if s.strip()]


def read_universe_file(path: Path) -> list[str]:
    """One symbol a line; blank lines and ``#`` comments skipped; commas split too."""
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        out.extend(split_symbols(line.split("#", 1)[0]))
    return out


def universe_entries(spec: str, instruments: Iterable[Instrument]) -> list[str]:
    """The symbols of ``--universe``: a file's lines, or a named universe."""
    path = Path(spec).expanduser()
    if path.is_file():
        return read_universe_file(path)
    named = NAMED_UNIVERSES.get(spec.strip().upper())
    if named is None:
        raise BadRequest(
            f"--universe {spec!r}: no such file, and not a named universe "
            f"(known: {', '.join(NAMED_UNIVERSES)})"
        )
    return list(named(instruments))


def resolve_symbols(symbols: Iterable[str], index: InstrumentIndex) -> list[Instrument]:
    """The instruments meant, once each, in order; :class:`UnknownSymbols` for the rest."""
    found: dict[str, Instrument] = {}
    unknown: list[str] = []
    for symbol in symbols:
        inst = index.resolve(symbol.strip()) if symbol.strip() else None
        if inst is None:
            unknown.append(symbol)
        else:
            found.setdefault(inst.instrument_key, inst)
    if unknown:
        raise UnknownSymbols(unknown)
    return list(found.values())
