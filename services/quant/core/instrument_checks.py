"""Row-level sanity of an instrument master: which rows are impossible, and why.

Used by the master parser (:mod:`quant.upstox.instruments`), so every consumer of a
downloaded master (the instrument sync, a service downloading it at start, ``quant up``)
gets only possible rows; the sync (:mod:`quant.sync.checks`) then decides from the counts
whether the file as a whole is still trustworthy. Pure: no I/O.

A row is dropped (and counted under its segment and reason) when it:

* has a non-positive lot size or tick size (indices excepted: they are not traded);
* has an empty ``instrument_key`` or ``trading_symbol``;
* shares its ``instrument_key`` with another row that differs from it (exact copies are
  harmless: one is kept and the rest are counted as skipped, not as bad);
* shares its ``trading_symbol`` with another instrument of the same segment (a symbol
  must resolve to one instrument; we cannot tell which one is right, so all go).

Rows that cannot be parsed at all (missing or mistyped fields) are counted by the parser
under :data:`MALFORMED`, with the same bookkeeping.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from quant.core.instruments import Instrument, InstrumentType

LOT_SIZE = "non-positive lot size"
TICK_SIZE = "non-positive tick size"
MISSING_KEY = "missing instrument_key or trading_symbol"
KEY_CONFLICT = "instrument_key listed twice with different values"
SYMBOL_TWICE = "trading_symbol listed twice in one segment"
MALFORMED = "malformed row (a field missing or of the wrong type)"
NO_SEGMENT = "?"  # the segment of a row too malformed to say


@dataclass(slots=True)
class Screened:
    """The possible rows, and what was dropped: ``dropped[(segment, reason)] = rows``."""

    kept: list[Instrument] = field(default_factory=list)
    dropped: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)  # reason -> one offending row
    exact_copies: int = 0

    def drop(self, segment: str, reason: str, example: str) -> None:
        key = (segment, reason)
        self.dropped[key] = self.dropped.get(key, 0) + 1
        self.examples.setdefault(reason, example)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def merge(self, other: Screened) -> None:
        """Add ``other`` (another file of the same master) to this one."""
        self.kept.extend(other.kept)
        for key, n in other.dropped.items():
            self.dropped[key] = self.dropped.get(key, 0) + n
        for reason, example in other.examples.items():
            self.examples.setdefault(reason, example)
        self.exact_copies += other.exact_copies


def _value_problem(inst: Instrument) -> str | None:
    if not inst.instrument_key or not inst.trading_symbol:
        return MISSING_KEY
    if inst.instrument_type is InstrumentType.INDEX:
        return None
    if inst.lot_size <= 0:
        return LOT_SIZE
    if inst.tick_size_paise <= 0:
        return TICK_SIZE
    return None


def screen_instruments(candidates: Iterable[Instrument]) -> Screened:
    """Drop the impossible rows of one master (see the module docstring); order is kept."""
    out = Screened()
    by_key: dict[str, Instrument] = {}
    conflicting: set[str] = set()
    unique: list[Instrument] = []
    for inst in candidates:
        problem = _value_problem(inst)
        if problem is not None:
            out.drop(inst.segment, problem, inst.instrument_key or repr(inst.trading_symbol))
            continue
        first = by_key.get(inst.instrument_key)
        if first is None:
            by_key[inst.instrument_key] = inst
            unique.append(inst)
        elif first == inst:
            out.exact_copies += 1
        else:
            conflicting.add(inst.instrument_key)
            out.drop(inst.segment, KEY_CONFLICT, inst.instrument_key)
    symbols: dict[tuple[str, str], int] = defaultdict(int)
    for inst in unique:
        if inst.instrument_key not in conflicting:
            symbols[(inst.segment, inst.trading_symbol.upper())] += 1
    for inst in unique:
        if inst.instrument_key in conflicting:
            out.drop(inst.segment, KEY_CONFLICT, inst.instrument_key)
        elif symbols[(inst.segment, inst.trading_symbol.upper())] > 1:
            out.drop(inst.segment, SYMBOL_TWICE, f"{inst.segment} {inst.trading_symbol}")
        else:
            out.kept.append(inst)
    return out


def segment_counts(instruments: Iterable[Instrument]) -> dict[str, int]:
    """Rows per segment."""
    counts: dict[str, int] = defaultdict(int)
    for inst in instruments:
        counts[inst.segment] += 1
    return dict(counts)
