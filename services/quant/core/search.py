"""Instrument search over one snapshot of the master, indexed once and answered in ~1 ms.

:class:`SymbolSearch` answers what a linear scan over every instrument would (see
:meth:`quant.core.symbols.InstrumentIndex.search` for the ranking), without the scan:

- exact matches (trading symbol, instrument key, or what follows a ``|`` in the key, an
  equity's ISIN) come from one dict;
- symbol and name prefixes from sorted arrays (``bisect``);
- every ``(symbol, name)`` pair is laid out, in result order, in one string
  (``\\x1e SYMBOL \\x1f NAME`` per row), so a prefix (``\\x1eQ`` / ``\\x1fQ``) or a substring
  (``Q``) is found by ``str.find`` (C speed) and the scan stops as soon as ``limit`` rows
  are found, since the first hits are the best ranked ones. Normalised text never holds
  ``\\x1e``/``\\x1f`` (``str.split`` treats them as whitespace), so a hit never straddles
  two fields.

Pure and immutable once built; safe to read from many threads. Built by
:class:`~quant.core.symbols.InstrumentIndex`.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from quant.core.instruments import Instrument

# Lower rank wins: indices and equities before derivatives, NSE before BSE.
SEGMENT_RANK = {
    "NSE_INDEX": 0,
    "NSE_EQ": 1,
    "BSE_INDEX": 2,
    "BSE_EQ": 3,
    "NSE_FO": 4,
    "BSE_FO": 5,
}
_SYM, _NAME = "\x1e", "\x1f"
_TOP = "\U0010ffff"
# A prefix shared by at most this many rows is sorted directly instead of scanned for.
_SMALL_RANGE = 256


def norm(text: str) -> str:
    """Upper case, whitespace runs as one space, trimmed."""
    return " ".join(text.upper().split())


def search_order(inst: Instrument) -> tuple[int, int, str]:
    """Tie-break within a match class: segment rank, shorter symbol, instrument key."""
    return (SEGMENT_RANK.get(inst.segment, 9), len(norm(inst.trading_symbol)), inst.instrument_key)


class SymbolSearch:
    """Search by trading symbol, name, instrument key or ISIN over a fixed instrument list."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        rows = sorted({i.instrument_key: i for i in instruments}.values(), key=search_order)
        self._rows = rows
        # text -> row, or rows when several share it (most texts name one row: no list each)
        self._exact: dict[str, int | list[int]] = {}
        syms: list[tuple[str, int]] = []
        names: list[tuple[str, int]] = []
        parts: list[str] = []
        starts: list[int] = []
        offset = 0
        for pos, inst in enumerate(rows):
            sym, key = norm(inst.trading_symbol), norm(inst.instrument_key)
            name = sys.intern(norm(inst.name))  # derivatives share their underlying's name
            exact = {sym, key}
            exact.update(key[i + 1 :] for i, c in enumerate(key) if c == "|")
            for text in exact:
                self._add_exact(text, pos)
            syms.append((sym, pos))
            names.append((name, pos))
            part = f"{_SYM}{sym}{_NAME}{name}"
            parts.append(part)
            starts.append(offset)
            offset += len(part)
        starts.append(offset)
        self._blob = "".join(parts)
        self._starts = starts
        syms.sort()
        names.sort()
        self._sym_text = [s for s, _ in syms]
        self._sym_pos = [p for _, p in syms]
        self._name_text = [s for s, _ in names]
        self._name_pos = [p for _, p in names]

    def _add_exact(self, text: str, pos: int) -> None:
        old = self._exact.get(text)
        if old is None:
            self._exact[text] = pos
        elif isinstance(old, int):
            self._exact[text] = [old, pos]
        else:
            old.append(pos)

    def __len__(self) -> int:
        return len(self._rows)

    def search(self, query: str, limit: int = 20) -> list[Instrument]:
        """Up to ``limit`` instruments: exact symbol/key/ISIN, symbol prefix, name prefix,
        then symbol or name containing ``query``; ties by :func:`search_order`."""
        q = norm(query)
        if not q or limit <= 0:
            return []
        exact = self._exact.get(q, ())
        found = sorted([exact] if isinstance(exact, int) else exact)[:limit]
        taken = set(found)
        tiers = (
            (self._sym_text, self._sym_pos, _SYM + q),
            (self._name_text, self._name_pos, _NAME + q),
            (None, None, q),
        )
        for texts, positions, pattern in tiers:
            need = limit - len(found)
            if need <= 0:
                break
            if texts is not None and positions is not None:
                lo = bisect_left(texts, q)
                hi = bisect_right(texts, q + _TOP, lo)
                if hi - lo <= _SMALL_RANGE:
                    hits = sorted(p for p in positions[lo:hi] if p not in taken)[:need]
                    taken.update(hits)
                    found.extend(hits)
                    continue
            found.extend(self._scan(pattern, need, taken))
        return [self._rows[p] for p in found]

    def _scan(self, pattern: str, need: int, taken: set[int]) -> list[int]:
        """The first ``need`` rows (in result order) whose text holds ``pattern``, not taken."""
        blob, starts = self._blob, self._starts
        hits: list[int] = []
        at = blob.find(pattern)
        while at >= 0:
            pos = bisect_right(starts, at) - 1
            if pos not in taken:
                taken.add(pos)
                hits.append(pos)
                if len(hits) >= need:
                    break
            at = blob.find(pattern, starts[pos + 1])
        return hits
