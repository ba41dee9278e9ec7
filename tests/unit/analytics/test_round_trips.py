"""Fills grouped into round trips (quant.analytics.round_trips): scaling, flips, shorts, open."""

from __future__ import annotations

import pytest

from quant.analytics.round_trips import FillRecord, round_trips
from quant.core.orders import Side

A, B = "NSE_EQ|A", "NSE_EQ|B"
BUY, SELL = Side.BUY, Side.SELL


def test_a_long_round_trip() -> None:
    got = round_trips(
        [FillRecord(A, BUY, 10, 100, 1, 5, "AAA"), FillRecord(A, SELL, 10, 110, 2, 6)]
    )
    (t,) = got.trades
    assert (t.side, t.quantity, t.entry_price, t.exit_price) == (BUY, 10, 100, 110)
    assert (t.entry_ts, t.exit_ts, t.symbol) == (1, 2, "AAA")
    assert (t.gross_pnl, t.charges, t.net_pnl) == (100, 11, 89)  # 10 x (110 - 100); 5 + 6
    assert got.open_positions == {}


def test_a_short_round_trip() -> None:
    (t,) = round_trips([FillRecord(A, SELL, 10, 200, 1), FillRecord(A, BUY, 10, 190, 2)]).trades
    assert (t.side, t.gross_pnl) == (SELL, 100)  # sold 2000, bought back 1900


def test_scaling_in_and_out_is_one_trade_with_average_prices() -> None:
    fills = [
        FillRecord(A, BUY, 10, 100, 1),
        FillRecord(A, BUY, 10, 110, 2),  # entry value 1000 + 1100 = 2100 over 20 -> 105
        FillRecord(A, SELL, 5, 120, 3),
        FillRecord(A, SELL, 15, 100, 4),  # exit value 600 + 1500 = 2100 over 20 -> 105
    ]
    (t,) = round_trips(fills).trades
    assert (t.quantity, t.entry_price, t.exit_price, t.gross_pnl) == (20, 105, 105, 0)
    assert (t.entry_ts, t.exit_ts) == (1, 4)


def test_a_fill_through_zero_closes_and_opens_with_charges_split() -> None:
    fills = [
        FillRecord(A, BUY, 10, 100, 1, 10),
        FillRecord(A, SELL, 15, 90, 2, 15),  # 10 close the long, 5 open a short
        FillRecord(A, BUY, 5, 80, 3, 3),
    ]
    long, short = round_trips(fills).trades
    # Charges 15 split by quantity: 5 x 15 // 15 = 5 to the new short, 10 to the close.
    assert (long.side, long.quantity, long.gross_pnl, long.charges) == (BUY, 10, -100, 20)
    assert (short.side, short.quantity, short.entry_ts, short.entry_price) == (SELL, 5, 2, 90)
    assert (short.gross_pnl, short.charges) == (50, 8)  # sold 450, bought 400; 5 + 3


def test_instruments_are_separate_and_what_stays_open_is_reported() -> None:
    got = round_trips(
        [
            FillRecord(A, BUY, 3, 100, 1),
            FillRecord(B, SELL, 2, 50, 2),
            FillRecord(A, SELL, 3, 101, 3),
            FillRecord(B, BUY, 1, 49, 4),
        ]
    )
    assert [t.instrument_key for t in got.trades] == [A]
    assert got.open_positions == {B: -1}


def test_average_prices_round_half_away_from_zero() -> None:
    fills = [
        FillRecord(A, BUY, 1, 100, 1),
        FillRecord(A, BUY, 2, 101, 2),  # 302 / 3 = 100.67 -> 101
        FillRecord(A, SELL, 3, 100, 3),
    ]
    (t,) = round_trips(fills).trades
    assert (t.entry_price, t.gross_pnl) == (101, -2)  # P&L stays exact: 300 - 302


def test_bad_fills_are_rejected() -> None:
    with pytest.raises(ValueError, match="time order"):
        round_trips([FillRecord(A, BUY, 1, 100, 5), FillRecord(A, SELL, 1, 100, 4)])
    with pytest.raises(ValueError, match="bad fill"):
        round_trips([FillRecord(A, BUY, 0, 100, 1)])
