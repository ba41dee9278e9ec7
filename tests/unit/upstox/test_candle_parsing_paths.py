"""Candle parsing: the one-pass path and the per-row path give the same candles; a row
the fast path cannot take is parsed (or refused, by its index) on the per-row path."""

from __future__ import annotations

import json

import pytest

from quant.upstox.errors import UpstoxDecodeError
from quant.upstox.rest_parsing import _candle, loads, parse_candles

K = "NSE_EQ|INE002A01018"


def _body(rows: list[list[object]]) -> bytes:
    return json.dumps({"status": "success", "data": {"candles": rows}}).encode()


ROWS: list[list[object]] = [
    ["2026-11-02T09:16:00+05:30", 1500.05, 1501.1, 1499.0, 1500.5, 1234, 7],
    ["2026-11-02T09:15:00+05:30", "1500.10", 1500.2, 1499.95, 1500.0, 10, None],
    ["2026-11-02T00:00:00+05:30", 0.05, 0.1, 0.05, 0.1, 0],
    ["2026-11-02T03:45:00Z", -1.005, 2.675, -3.5, 4.125, 5, 0],
]


def test_both_paths_agree() -> None:
    fast = parse_candles(_body(ROWS), K, "minutes", 1)
    slow = sorted((_candle(r, i, K, 60) for i, r in enumerate(ROWS)), key=lambda c: c.ts_start)
    assert fast == slow
    assert [c.ts_start for c in fast] == sorted(c.ts_start for c in fast)
    assert fast[1].open == 150_010 and fast[1].oi == 0  # a string price, a null oi


def test_rows_the_fast_path_refuses_go_the_careful_way() -> None:
    sub_second = [*ROWS, ["2026-11-02T09:17:00.5+05:30", 1, 1, 1, 1, 1]]
    out = parse_candles(_body(sub_second), K, "minutes", 1)
    assert len(out) == 5 and out[-1].ts_start % 1_000_000_000 == 500_000_000
    with pytest.raises(UpstoxDecodeError, match=r"data.candles\[1\]: bad candle"):
        parse_candles(_body([ROWS[0], ["2026-11-02T09:17:00", 1, 1, 1, 1, 1]]), K, "minutes", 1)
    infinite = _body([["2026-11-02T09:17:00+05:30", float("inf"), 1, 1, 1, 1]])  # Infinity
    with pytest.raises(UpstoxDecodeError, match=r"data.candles\[0\]: bad candle"):
        parse_candles(infinite, K, "minutes", 1)
    with pytest.raises(UpstoxDecodeError, match=r"data.candles\[0\]: expected"):
        parse_candles(_body([["2026-11-02T09:17:00+05:30", 1, 1]]), K, "minutes", 1)


def test_json_the_fast_parser_refuses_is_read_by_the_standard_one() -> None:
    assert loads(b'{"a": [1.5, 2]}') == {"a": [1.5, 2]}
    nan = loads(b'{"iv": NaN, "big": 123456789012345678901234567890}')
    assert nan["iv"] != nan["iv"] and nan["big"] == 123456789012345678901234567890
    with pytest.raises(ValueError):
        loads(b"{not json")


def test_a_timestamp_seen_before_gives_the_same_instant() -> None:
    once = parse_candles(_body(ROWS), K, "minutes", 1)
    again = parse_candles(_body(ROWS), K, "minutes", 1)  # from the cache of seen texts
    assert once == again
    with pytest.raises(UpstoxDecodeError):  # a naive one is refused every time
        parse_candles(_body([["2026-11-02T09:17:00", 1, 1, 1, 1, 1]]), K, "minutes", 1)
