"""The indexed instrument search answers exactly what the old linear scan answered.

The reference below is the scan ``InstrumentIndex.search`` ran before it was indexed
(every instrument, every query), with its normalisation hoisted out of the loop. It is
compared on the simulator's full instrument master (tens of thousands of rows: NSE and
BSE equities with ISINs, indices, futures and weekly/monthly option chains).
"""

from __future__ import annotations

import json
import random
from datetime import date
from functools import cache

from quant.core.instruments import Instrument, InstrumentType
from quant.core.search import SEGMENT_RANK, SymbolSearch, norm
from quant.core.symbols import InstrumentIndex
from quant.sim.config import SimConfig
from quant.sim.master import build_universe
from quant.upstox.instruments import parse_master

Row = tuple[str, str, str, Instrument]


@cache
def master() -> tuple[Instrument, ...]:
    rows = build_universe(SimConfig(seed=7), date(2026, 12, 7)).rows
    return tuple(parse_master(json.dumps(rows).encode()).instruments)


@cache
def reference_rows() -> tuple[Row, ...]:
    return tuple(
        (norm(i.trading_symbol), norm(i.name), norm(i.instrument_key), i) for i in master()
    )


def linear_search(rows: tuple[Row, ...], query: str, limit: int) -> list[Instrument]:
    """The pre-index algorithm: score every row, sort, cut."""
    q = norm(query)
    if not q:
        return []
    scored: list[tuple[int, int, int, str, Instrument]] = []
    for sym, name, key, inst in rows:
        if sym == q or key == q or key.endswith("|" + q):
            score = 0
        elif sym.startswith(q):
            score = 1
        elif name.startswith(q):
            score = 2
        elif q in sym or q in name:
            score = 3
        else:
            continue
        seg = SEGMENT_RANK.get(inst.segment, 9)
        scored.append((score, seg, len(sym), inst.instrument_key, inst))
    scored.sort(key=lambda row: row[:4])
    return [row[4] for row in scored[:limit]]


def _queries() -> list[str]:
    insts = master()
    rng = random.Random(16)
    sample = rng.sample(insts, 40)
    queries = ["A", "N", "26", "NIFTY", "nifty 50", "Nifty", "BANK", "RELIANCE", "reli", "FUT"]
    queries += ["CE", "PE 26", "  hdfc   bank ", "ZZZQ", "Q", "LTD", "INDUSTRIES", "50", "0"]
    for inst in sample:
        sym, name = inst.trading_symbol, inst.name
        queries.append(sym)  # exact
        queries.append(sym[: rng.randint(1, len(sym))].lower())  # prefix, any case
        queries.append(name[: rng.randint(1, max(1, len(name)))])  # name prefix
        a = rng.randrange(len(sym))
        queries.append(sym[a : a + rng.randint(1, 6)])  # substring
        queries.append(inst.instrument_key)  # key
        queries.append(inst.instrument_key.split("|", 1)[1])  # ISIN / token
        if inst.isin:
            queries.append(inst.isin.lower())
    return [q for q in queries if q.strip()]


def test_the_master_is_realistic() -> None:
    insts = master()
    assert len(insts) > 10_000
    assert {i.instrument_type for i in insts} >= set(InstrumentType)
    assert sum(1 for i in insts if i.isin) > 100


def test_index_matches_the_linear_scan_on_the_sim_master() -> None:
    index = SymbolSearch(master())
    rows = reference_rows()
    for q in _queries():
        expected = [i.instrument_key for i in linear_search(rows, q, 100)]
        # the ranking is a total order: a smaller limit is a prefix of the larger one
        for limit in (1, 7, 20, 100):
            got = [i.instrument_key for i in index.search(q, limit)]
            assert got == expected[:limit], (q, limit)


def test_finds_by_isin_and_by_instrument_key() -> None:
    index = InstrumentIndex.build(master())
    rel = index.resolve("RELIANCE")
    assert rel is not None and rel.isin
    assert index.search(rel.isin)[0] is rel
    assert index.search(rel.isin.lower())[0] is rel
    assert index.search(rel.instrument_key)[0] is rel


def test_edge_queries() -> None:
    index = SymbolSearch(master())
    assert index.search("") == []
    assert index.search("   ") == []
    assert index.search("\x1e\x1f") == []  # separators normalise away
    assert index.search("NIFTY", limit=0) == []
    assert index.search("no such thing at all") == []
    assert len(SymbolSearch([])) == 0
    assert SymbolSearch([]).search("A") == []


def test_index_follows_added_instruments() -> None:
    index = InstrumentIndex.build(master()[:100])
    new = Instrument("NSE_EQ|INE999Z01099", "ZQXTEST", "ZQX TEST LTD", "NSE", "NSE_EQ",
                     InstrumentType.EQUITY)  # fmt: skip
    assert index.search("ZQX") == []
    index.add(new)
    assert index.search("ZQX") == [new]
    assert index.search("INE999Z01099") == [new]
    assert index.resolve("nse_eq|ine999z01099") is new
