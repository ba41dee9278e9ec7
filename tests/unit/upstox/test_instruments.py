"""Parsing the instrument master: fields per UPSTOX.md §4.2; a damaged file raises, damaged
or impossible rows are dropped and counted; size limits on the download and the gzip."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from quant.core import instrument_checks as checks
from quant.core.instruments import InstrumentType
from quant.upstox.errors import InstrumentMasterError, InstrumentMasterTooLarge
from quant.upstox.instruments import UpstoxInstrumentSource, parse_master

ROWS = [
    {"segment": "NSE_EQ", "name": "RELIANCE INDUSTRIES LTD", "exchange": "NSE",
     "isin": "INE002A01018", "instrument_type": "EQ", "instrument_key": "NSE_EQ|INE002A01018",
     "lot_size": 1, "freeze_quantity": 100000.0, "exchange_token": "2885", "tick_size": 10.0,
     "trading_symbol": "RELIANCE", "short_name": "Reliance", "security_type": "NORMAL"},
    {"segment": "NSE_EQ", "name": "SOME SME", "exchange": "NSE", "isin": "INE000X01010",
     "instrument_type": "SM", "instrument_key": "NSE_EQ|INE000X01010", "lot_size": 1200,
     "exchange_token": "9999", "tick_size": 5.0, "trading_symbol": "SMESCRIP"},
    {"weekly": True, "segment": "NSE_FO", "name": "NIFTY", "exchange": "NSE",
     "expiry": 1767119399000, "instrument_type": "CE", "underlying_symbol": "NIFTY",
     "instrument_key": "NSE_FO|43919", "lot_size": 75, "freeze_quantity": 1800.0,
     "exchange_token": "43919", "minimum_lot": 75, "underlying_key": "NSE_INDEX|Nifty 50",
     "underlying_type": "INDEX", "tick_size": 5.0, "trading_symbol": "NIFTY 24100 CE 30 DEC 25",
     "strike_price": 24100.0},
    {"segment": "NSE_FO", "name": "RELIANCE", "exchange": "NSE", "expiry": 1706207399000,
     "instrument_type": "FUT", "instrument_key": "NSE_FO|35000", "lot_size": 250,
     "exchange_token": 35000, "tick_size": 10.0, "trading_symbol": "RELIANCE FUT 25 JAN 24",
     "strike_price": 0.0, "underlying_key": "NSE_EQ|INE002A01018"},
    {"segment": "NSE_INDEX", "name": "Nifty 50", "exchange": "NSE", "instrument_type": "INDEX",
     "instrument_key": "NSE_INDEX|Nifty 50", "exchange_token": "Nifty 50",
     "trading_symbol": "NIFTY"},
    {"segment": "GLOBAL_INDEX", "name": "SGX NIFTY", "exchange": "GLOBAL",
     "instrument_type": "INDEX", "instrument_key": "GLOBAL_INDEX|SGX NIFTY",
     "trading_symbol": "SGX NIFTY"},
]  # fmt: skip


def test_rows_become_instruments_with_paise_and_ist_expiry() -> None:
    result = parse_master(gzip.compress(json.dumps(ROWS).encode()))
    by_key = {i.instrument_key: i for i in result.instruments}
    assert len(by_key) == 5 and result.skipped == {"unmodelled segment or type": 1}
    rel = by_key["NSE_EQ|INE002A01018"]
    assert (rel.instrument_type, rel.tick_size_paise, rel.isin, rel.freeze_quantity) == (
        InstrumentType.EQUITY, 10, "INE002A01018", 100000,
    )  # fmt: skip
    assert by_key["NSE_EQ|INE000X01010"].instrument_type is InstrumentType.EQUITY
    ce = by_key["NSE_FO|43919"]
    assert ce.is_option and ce.strike_paise == 2410000 and ce.expiry == date(2025, 12, 30)
    assert (ce.lot_size, ce.weekly, ce.underlying_key) == (75, True, "NSE_INDEX|Nifty 50")
    fut = by_key["NSE_FO|35000"]
    assert fut.instrument_type is InstrumentType.FUTURE and fut.strike_paise is None
    assert fut.expiry == date(2024, 1, 25) and fut.exchange_token == "35000"
    assert by_key["NSE_INDEX|Nifty 50"].is_index


def test_rupee_tick_sizes_from_the_old_csv_convention_are_converted() -> None:
    row = dict(ROWS[0], tick_size=0.05)
    (inst,) = parse_master(json.dumps([row]).encode()).instruments
    assert inst.tick_size_paise == 5


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (gzip.compress(json.dumps(ROWS).encode())[:-20], "truncated or corrupt gzip"),
        (gzip.compress(b'[{"segment": "NSE_EQ"'), "malformed JSON"),
        (json.dumps({"rows": []}).encode(), "expected a JSON array"),
    ],
)
def test_damaged_masters_raise_clear_errors(data: bytes, match: str) -> None:
    with pytest.raises(InstrumentMasterError, match=match):
        parse_master(data)


def test_damaged_and_impossible_rows_are_dropped_and_counted_per_segment() -> None:
    fut = ROWS[3]
    bad = [
        {"segment": "NSE_EQ", "instrument_type": "EQ"},  # no key, no symbol
        dict(ROWS[0], lot_size="ten", instrument_key="NSE_EQ|X1", trading_symbol="X1"),
        dict(ROWS[0], instrument_key="NSE_FO|1", trading_symbol="X2"),  # key of another segment
        dict(fut, lot_size=0, instrument_key="NSE_FO|2", trading_symbol="F2"),
        dict(fut, lot_size=-75, instrument_key="NSE_FO|3", trading_symbol="F3"),
        dict(fut, tick_size=0, instrument_key="NSE_FO|4", trading_symbol="F4"),
        dict(fut, tick_size=-5.0, instrument_key="NSE_FO|5", trading_symbol="F5"),
        dict(fut, instrument_key="", trading_symbol="F6"),
        dict(fut, instrument_key="NSE_FO|35000", lot_size=500),  # the same key, other values
        dict(fut, instrument_key="NSE_FO|7", trading_symbol="F7 FUT"),
        dict(fut, instrument_key="NSE_FO|8", trading_symbol="f7 fut"),  # a symbol twice
        "not an object",
    ]
    copies = [ROWS[0], ROWS[0]]  # an exact copy is harmless: one kept, not counted as bad
    result = parse_master(json.dumps(ROWS + bad + copies).encode())
    keys = {i.instrument_key for i in result.instruments}
    assert keys == {"NSE_EQ|INE002A01018", "NSE_EQ|INE000X01010", "NSE_FO|43919",
                    "NSE_INDEX|Nifty 50"}  # fmt: skip
    assert result.rejected == {
        ("NSE_EQ", checks.MALFORMED): 2,
        ("NSE_EQ", checks.MISSING_KEY): 1,
        ("NSE_FO", checks.LOT_SIZE): 2,
        ("NSE_FO", checks.TICK_SIZE): 2,
        ("NSE_FO", checks.MISSING_KEY): 1,
        ("NSE_FO", checks.KEY_CONFLICT): 2,  # both rows of NSE_FO|35000 go
        ("NSE_FO", checks.SYMBOL_TWICE): 2,  # both go: which one is right is unknown
        ("?", checks.MALFORMED): 1,
    }
    assert result.skipped["exact duplicate row"] == 2
    assert "lot_size" in result.examples[checks.MALFORMED]


def test_an_index_without_lot_or_tick_is_kept() -> None:
    row = dict(ROWS[4], lot_size=None, tick_size=0)
    (inst,) = parse_master(json.dumps([row]).encode()).instruments
    assert (inst.lot_size, inst.tick_size_paise) == (1, 1)


def test_a_gzip_inflating_past_the_limit_is_refused_without_inflating_it_all() -> None:
    bomb = gzip.compress(b"[" + b" " * 5_000_000 + b"]")
    assert len(bomb) < 10_000
    with pytest.raises(InstrumentMasterTooLarge, match="more than 1,000,000 bytes"):
        parse_master(bomb, max_bytes=1_000_000)
    assert parse_master(bomb, max_bytes=5_000_002).instruments == []
    two_members = gzip.compress(b"[") + gzip.compress(json.dumps(ROWS)[1:].encode())
    assert len(parse_master(two_members).instruments) == 5


async def test_a_download_over_the_size_limit_is_abandoned_mid_stream() -> None:
    body = gzip.compress(json.dumps(ROWS * 50).encode(), compresslevel=0)
    sent: list[int] = []

    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 1000):
            sent.append(i)
            yield body[i : i + 1000]

    def chunked(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=stream())  # no Content-Length

    source = UpstoxInstrumentSource(
        "https://a.test", ("NSE",), transport=httpx.MockTransport(chunked),
        max_download_bytes=5_000,
    )  # fmt: skip
    with pytest.raises(InstrumentMasterTooLarge, match="5,000"):
        await source.fetch(lambda *a: None)
    assert len(sent) <= 7 < len(body) // 1000  # stopped reading just past the limit

    def declared(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)  # Content-Length over the limit

    source = UpstoxInstrumentSource(
        "https://a.test", ("NSE",), transport=httpx.MockTransport(declared),
        max_download_bytes=5_000,
    )  # fmt: skip
    with pytest.raises(InstrumentMasterTooLarge, match=f"{len(body):,} bytes > 5,000"):
        await source.fetch(lambda *a: None)


async def test_source_downloads_each_file_and_rejects_short_reads() -> None:
    good = gzip.compress(json.dumps(ROWS).encode())
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("BSE.json.gz"):
            return httpx.Response(200, content=gzip.compress(b"[]"))
        return httpx.Response(200, content=good)

    progress: list[tuple[str, int, int]] = []
    source = UpstoxInstrumentSource("https://assets.test", transport=httpx.MockTransport(handler))
    instruments = await source.fetch(lambda *a: progress.append(a))
    assert len(instruments) == 5
    assert seen == [
        "/market-quote/instruments/exchange/NSE.json.gz",
        "/market-quote/instruments/exchange/BSE.json.gz",
    ]
    assert progress[-1] == ("parse BSE", 0, 0)

    def missing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="gone")

    with pytest.raises(InstrumentMasterError, match="HTTP 404"):
        await UpstoxInstrumentSource(
            "https://a.test", transport=httpx.MockTransport(missing)
        ).fetch(lambda *a: None)
