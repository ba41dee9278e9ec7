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
from quant.core.search import SEGMENT_RANK as _SEGMENT_RANK
from quant.core.search import SymbolSearch
from quant.core.search import norm as _norm

# Sorts instruments without an expiry after every real expiry.
_FAR = date(9999, 12, 31)


def _rank(inst: Instrument) -> tuple[int, str]:
    return (_SEGMENT_RANK.get(inst.segment, 9), inst.instrument_key)


@dataclass
class InstrumentIndex:
    """Lookup tables over one snapshot of the instrument master."""

    _by_key: dict[str, Instrument] = field(default_factory=dict)
    _by_symbol: dict[str, list[Instrument]] = field(default_factory=dict)
    _by_underlying: dict[str, list[Instrument]] = field(default_factory=dict)
    _by_norm_key: dict[str, Instrument] = field(default_factory=dict)
    _search: SymbolSearch | None = None

    @classmethod
    def build(cls, instruments: Iterable[Instrument]) -> InstrumentIndex:
        index = cls()
        for inst in instruments:
            index.add(inst)
        for rows in index._by_symbol.values():
            rows.sort(key=_rank)
        index._search = SymbolSearch(index._by_key.values())
        return index

    def add(self, inst: Instrument) -> None:
        """Add (or replace) one instrument."""
        old = self._by_key.get(inst.instrument_key)
        if old is not None:
            self._discard(old)
        self._by_key[inst.instrument_key] = inst
        self._by_norm_key.setdefault(_norm(inst.instrument_key), inst)
        self._search = None
        symbol = _norm(inst.trading_symbol)
        names = {symbol, f"{inst.exchange.upper()}:{symbol}"}
        if inst.is_index and inst.name:
            names.add(_norm(inst.name))
        for name in names:
            self._by_symbol.setdefault(name, []).append(inst)
        if inst.underlying_key:
            self._by_underlying.setdefault(inst.underlying_key, []).append(inst)

    def _discard(self, inst: Instrument) -> None:
        if self._by_norm_key.get(_norm(inst.instrument_key)) is inst:
            del self._by_norm_key[_norm(inst.instrument_key)]
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
            return self._by_norm_key.get(_norm(symbol))
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
        equities before derivatives, then shorter symbols. Answered from a
        :class:`~quant.core.search.SymbolSearch` built once per snapshot (rebuilt on the
        first search after :meth:`add`).
        """
        search = self._search
        if search is None:
            search = self._search = SymbolSearch(self._by_key.values())
        return search.search(query, limit)

    def all(self) -> list[Instrument]:
        return list(self._by_key.values())

    def of_type(self, kind: InstrumentType) -> list[Instrument]:
        return [i for i in self._by_key.values() if i.instrument_type is kind]
