"""Which names the scanner scans (pure).

:func:`candidates`: the configured entries against the instrument master: ``NSE_EQ`` is
every NSE equity (EQ series) of the master; any other entry is a trading symbol or an
instrument key (an entry that does not resolve is reported, never guessed).
:func:`scanned`: the candidates that pass the liquidity filter of
:func:`quant.analytics.scanner_score.liquid` on their stored daily candles (last close
and median daily turnover); names listed explicitly are scanned whatever their liquidity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from quant.analytics.scanner_score import liquid
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.scanner.history import DailyHistory
from quant.scanner.settings import ALL_EQUITIES


class Candidates(NamedTuple):
    instruments: list[Instrument]  # in master order, each once
    explicit: frozenset[str]  # keys named one by one (not filtered for liquidity)
    unresolved: list[str]


def is_nse_equity(inst: Instrument) -> bool:
    return inst.segment == "NSE_EQ" and inst.instrument_type is InstrumentType.EQUITY


def candidates(instruments: Iterable[Instrument], entries: Sequence[str]) -> Candidates:
    """The instruments ``entries`` name (see the module docstring)."""
    master = list(instruments)
    chosen: dict[str, Instrument] = {}
    explicit: set[str] = set()
    unresolved: list[str] = []
    index: InstrumentIndex | None = None
    for entry in entries:
        if entry.upper() == ALL_EQUITIES:
            chosen.update((i.instrument_key, i) for i in master if is_nse_equity(i))
            continue
        index = index or InstrumentIndex.build(master)
        found = index.resolve(entry)
        if found is None or found.is_index:
            unresolved.append(entry)
            continue
        chosen[found.instrument_key] = found
        explicit.add(found.instrument_key)
    return Candidates(list(chosen.values()), frozenset(explicit), unresolved)


def scanned(
    keys: Sequence[str],
    daily: DailyHistory,
    explicit: frozenset[str],
    *,
    min_price: float,
    min_turnover: float,
) -> list[int]:
    """Positions in ``keys`` of the names to scan: liquid ones, and the explicit ones."""
    ok = liquid(
        daily.last_close(),
        daily.close,
        daily.volume,
        min_price=min_price,
        min_turnover=min_turnover,
    )
    named = np.fromiter((k in explicit for k in keys), bool, len(keys))
    return [int(i) for i in np.flatnonzero(ok | named)]
