"""Symbol resolution over the instrument master: trading symbol <-> instrument_key.

A pure, in-memory index built from :class:`~quant.core.instruments.Instrument` rows. The
gateway resolves ``{symbol}`` path parameters with it, the ingestor resolves its
configured universe, and ``quant sync-instruments`` uses it to report what changed. It
accepts an instrument_key (``NSE_EQ|INE002A01018``), a trading symbol (``RELIANCE``,
``NIFTY 25000 CE 27 NOV 26``), an index name (``NIFTY 50`` / ``Nifty 50``) or an
``EXCHANGE:SYMBOL`` pair (``NSE:RELIANCE``), case-insensitively. Equities prefer NSE
over BSE when a bare symbol is listed on both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from quant.core.instruments import Instrument, InstrumentType

# Lower rank wins when a bare trading symbol matches several rows.
_SEGMENT_RANK = {
    "NSE_INDEX": 0,
    "NSE_EQ": 1,
    "BSE_INDEX": 2,
    "BSE_EQ": 3,
    "NSE_FO": 4,
    "BSE_FO": 5,
}


# Sorts instruments without an expiry after every real expiry.
_FAR = date(9999, 12, 31)


def _norm(text: str) -> str:
    return " ".join(text.upper().split())


def _rank(inst: Instrument) -> tuple[int, str]:
    return (_SEGMENT_RANK.get(inst.segment, 9), inst.instrument_key)


@dataclass
class InstrumentIndex:
    """Lookup tables over one snapshot of the instrument master."""

    _by_key: dict[str, Instrument] = field(default_factory=dict)
    _by_symbol: dict[str, list[Instrument]] = field(default_factory=dict)
    _by_underlying: dict[str, list[Instrument]] = field(default_factory=dict)

    @classmethod
    def build(cls, instruments: Iterable[Instrument]) -> InstrumentIndex:
        index = cls()
        for inst in instruments:
            index.add(inst)
        for rows in index._by_symbol.values():
            rows.sort(key=_rank)
        return index

    def add(self, inst: Instrument) -> None:
        """Add (or replace) one instrument."""
        old = self._by_key.get(inst.instrument_key)
        if old is not None:
            self._discard(old)
        self._by_key[inst.instrument_key] = inst
        symbol = _norm(inst.trading_symbol)
        names = {symbol, f"{inst.exchange.upper()}:{symbol}"}
        if inst.is_index and inst.name:
            names.add(_norm(inst.name))
        for name in names:
            self._by_symbol.setdefault(name, []).append(inst)
        if inst.underlying_key:
            self._by_underlying.setdefault(inst.underlying_key, []).append(inst)

    def _discard(self, inst: Instrument) -> None:
        for rows in self._by_symbol.values():
            if inst in rows:
                rows.remove(inst)
        siblings = self._by_underlying.get(inst.underlying_key)
        if siblings is not None and inst in siblings:
            siblings.remove(inst)

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, instrument_key: object) -> bool:
        return instrument_key in self._by_key

    def get(self, instrument_key: str) -> Instrument | None:
        """The instrument with exactly this key, if any."""
        return self._by_key.get(instrument_key)

    def resolve(self, symbol: str) -> Instrument | None:
        """The instrument a user means by ``symbol`` (key, trading symbol or index name)."""
        if "|" in symbol:
            found = self._by_key.get(symbol)
            if found is not None:
                return found
            # Index keys are case-sensitive upstream ("Nifty 50"); be lenient here.
            wanted = _norm(symbol)
            return next((i for k, i in self._by_key.items() if _norm(k) == wanted), None)
        rows = self._by_symbol.get(_norm(symbol))
        return rows[0] if rows else None

    def derivatives_of(self, underlying_key: str) -> Sequence[Instrument]:
        """Futures and options whose underlying is ``underlying_key``."""
        return tuple(self._by_underlying.get(underlying_key, ()))

    def option_chain(self, underlying_key: str) -> list[Instrument]:
        """Options on ``underlying_key``, nearest expiry first, then strike, CE before PE."""
        options = [i for i in self._by_underlying.get(underlying_key, ()) if i.is_option]
        return sorted(
            options,
            key=lambda i: (i.expiry or _FAR, i.strike_paise or 0, i.instrument_type.value),
        )

    def search(self, query: str, limit: int = 20) -> list[Instrument]:
        """Instruments whose trading symbol or name contains ``query``, or whose instrument
        key is ``query`` or ends in ``|query`` (an equity's ISIN); exact matches first.

        Ranks: exact symbol or key, symbol prefix, name prefix, substring; then indices and
        equities before derivatives, then shorter symbols.
        """
        q = _norm(query)
        if not q:
            return []
        scored: list[tuple[int, int, int, str, Instrument]] = []
        for inst in self._by_key.values():
            sym = _norm(inst.trading_symbol)
            name = _norm(inst.name)
            key = _norm(inst.instrument_key)
            if sym == q or key == q or key.endswith("|" + q):  # a key, or its ISIN
                score = 0
            elif sym.startswith(q):
                score = 1
            elif name.startswith(q):
                score = 2
            elif q in sym or q in name:
                score = 3
            else:
                continue
            seg = _SEGMENT_RANK.get(inst.segment, 9)
            scored.append((score, seg, len(sym), inst.instrument_key, inst))
        scored.sort(key=lambda row: row[:4])
        return [row[4] for row in scored[:limit]]

    def all(self) -> list[Instrument]:
        return list(self._by_key.values())

    def of_type(self, kind: InstrumentType) -> list[Instrument]:
        return [i for i in self._by_key.values() if i.instrument_type is kind]
