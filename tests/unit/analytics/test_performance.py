"""Performance statistics (quant.analytics.performance) on hand-computed series and edge cases."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.analytics.performance import (
    EquityPoint,
    TradeRecord,
    compute_performance,
    daily_returns,
    drawdown_series,
    ist_day,
    max_drawdown,
    round_div,
)
from quant.core.clock import IST
from quant.core.orders import Side

D1, D2, D3, D4 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5)
CAPITAL = 100_000


def ts(day: date, hh: int = 9, mm: int = 30) -> int:
    """UTC ns of an IST wall time."""
    return int(datetime.combine(day, time(hh, mm), tzinfo=IST).timestamp()) * 1_000_000_000


def trade(
    side: Side,
    qty: int,
    entry: int,
    exit_: int,
    charges: int,
    entry_day: date,
    exit_day: date,
    key: str = "NSE_EQ|X",
) -> TradeRecord:
    sign = 1 if side is Side.BUY else -1
    gross = sign * qty * (exit_ - entry)
    return TradeRecord(
        key, side, qty, ts(entry_day), ts(exit_day, 15, 0), entry, exit_, gross, charges
    )


# Equity: +10 %, -10 %, +10 %, 0 % on a capital of 100000 paise.
EQUITY = [
    EquityPoint(D1, 110_000),
    EquityPoint(D2, 99_000),
    EquityPoint(D3, 108_900),
    EquityPoint(D4, 108_900),
]
TRADES = [
    trade(Side.BUY, 10, 10_000, 11_000, 100, D1, D1),  # gross +10000, net +9900
    trade(Side.SELL, 5, 20_000, 21_000, 200, D2, D3),  # gross -5000, net -5200
    trade(Side.BUY, 1, 5_000, 5_000, 50, D3, D3),  # gross 0, net -50
]


def test_hand_computed_series() -> None:
    perf = compute_performance(EQUITY, TRADES, initial_capital=CAPITAL, risk_rejections=2)

    assert perf.days == 4
    assert (perf.start_day, perf.end_day) == (D1, D4)
    assert perf.final_equity == 108_900
    assert perf.net_pnl == 8_900  # 108900 - 100000
    assert perf.return_pct == pytest.approx(8.9)

    # returns r = [0.1, -0.1, 0.1, 0.0]; mean 0.025; deviations .075 -.125 .075 -.025,
    # squares sum .005625+.015625+.005625+.000625 = .0275; sample variance .0275/3.
    assert perf.sharpe == pytest.approx(0.025 / math.sqrt(0.0275 / 3) * math.sqrt(252))
    # downside: min(r, 0)^2 = [0, .01, 0, 0], mean .0025, sqrt .05 -> .025/.05 * sqrt(252).
    assert perf.sortino == pytest.approx(0.5 * math.sqrt(252))

    # Peak 110000 on D1, trough 99000 on D2: -11000 = -10 %; never back to 110000,
    # so the duration runs to the last day: D1 -> D4 = 3 trading days.
    assert perf.max_drawdown == 11_000
    assert perf.max_drawdown_pct == pytest.approx(10.0)
    assert perf.max_drawdown_days == 3
    assert perf.drawdown_peak_day == D1
    assert perf.drawdown_trough_day == D2
    assert perf.drawdown_recovery_day is None

    assert (perf.trades, perf.winning_trades, perf.losing_trades) == (3, 1, 2)
    assert perf.win_rate == pytest.approx(1 / 3)
    assert perf.gross_profit == 9_900
    assert perf.gross_loss == 5_250  # 5200 + 50
    assert perf.profit_factor == pytest.approx(9_900 / 5_250)
    assert perf.average_trade == 1_550  # (9900 - 5200 - 50) / 3
    assert perf.gross_pnl == 5_000  # 10000 - 5000 + 0
    assert perf.charges == 350
    # Trades open on D1, D2..D3, D3: 3 of 4 days.
    assert perf.exposure == pytest.approx(0.75)
    # Traded value 10*(10000+11000) + 5*(20000+21000) + 1*(5000+5000) = 425000;
    # average equity (110000+99000+108900+108900)/4 = 106700.
    assert perf.traded_value == 425_000
    assert perf.turnover == pytest.approx(425_000 / 106_700)
    assert perf.risk_rejections == 2


def test_drawdown_duration_ends_at_recovery_and_counts_from_the_capital() -> None:
    # Falls on day 1 below the capital, recovers on day 3: peak is the capital (before D1).
    equity = [
        EquityPoint(D1, 95_000),
        EquityPoint(D2, 90_000),
        EquityPoint(D3, 100_000),
        EquityPoint(D4, 80_000),
    ]
    dd = max_drawdown(equity, CAPITAL)
    # Deepest in percent: 80000 from the peak 100000 on D3 = -20 %, unrecovered: D3 -> D4 = 1 day.
    assert dd.pct == pytest.approx(20.0)
    assert (dd.paise, dd.days) == (20_000, 1)
    assert (dd.peak_day, dd.trough_day, dd.recovery_day) == (D3, D4, None)

    first = max_drawdown(equity[:3], CAPITAL)
    # -10 % on D2 from the capital; back to 100000 on D3: capital(-1) -> D3(2) = 3 days.
    assert first.pct == pytest.approx(10.0)
    assert (first.paise, first.days) == (10_000, 3)
    assert (first.peak_day, first.trough_day, first.recovery_day) == (None, D2, D3)


def test_drawdown_series_per_day() -> None:
    rows = drawdown_series(EQUITY, CAPITAL)
    assert [r.peak for r in rows] == [110_000, 110_000, 110_000, 110_000]
    assert [r.drawdown for r in rows] == [0, -11_000, -1_100, -1_100]
    assert rows[1].drawdown_pct == pytest.approx(-10.0)
    assert rows[2].drawdown_pct == pytest.approx(-1.0)


def test_no_trades() -> None:
    perf = compute_performance(EQUITY, [], initial_capital=CAPITAL)
    assert perf.trades == 0
    assert perf.win_rate is None
    assert perf.profit_factor is None
    assert perf.average_trade is None
    assert perf.exposure == 0.0
    assert perf.turnover == 0.0
    assert perf.charges == 0
    assert perf.risk_rejections == 0


def test_one_day_has_no_sharpe_and_a_one_day_drawdown_from_the_capital() -> None:
    perf = compute_performance([EquityPoint(D1, 99_000)], [], initial_capital=CAPITAL)
    assert perf.sharpe is None
    assert perf.sortino is None
    assert perf.net_pnl == -1_000
    assert perf.return_pct == pytest.approx(-1.0)
    assert (perf.max_drawdown, perf.max_drawdown_days) == (1_000, 1)
    assert perf.drawdown_peak_day is None


def test_all_wins_profit_factor_and_sortino_undefined() -> None:
    equity = [EquityPoint(D1, 101_000), EquityPoint(D2, 103_000)]
    trades = [
        trade(Side.BUY, 1, 1_000, 2_000, 0, D1, D1),
        trade(Side.SELL, 1, 3_000, 2_000, 0, D2, D2),
    ]
    perf = compute_performance(equity, trades, initial_capital=CAPITAL)
    assert perf.win_rate == 1.0
    assert perf.gross_loss == 0
    assert perf.profit_factor is None  # infinite: shown as ∞
    assert perf.sortino is None  # no down day
    assert perf.sharpe is not None and perf.sharpe > 0
    assert perf.max_drawdown == 0
    assert perf.max_drawdown_days == 0
    assert perf.drawdown_trough_day is None


def test_flat_equity_has_no_sharpe() -> None:
    equity = [EquityPoint(d, CAPITAL) for d in (D1, D2, D3)]
    perf = compute_performance(equity, [], initial_capital=CAPITAL)
    assert perf.sharpe is None
    assert perf.sortino is None
    assert perf.net_pnl == 0
    assert perf.return_pct == 0.0
    assert perf.max_drawdown_pct == 0.0


def test_ruined_equity_leaves_ratios_undefined() -> None:
    equity = [EquityPoint(D1, -5_000), EquityPoint(D2, 1_000)]
    assert daily_returns(equity, CAPITAL) is None
    perf = compute_performance(equity, [], initial_capital=CAPITAL)
    assert perf.sharpe is None
    assert perf.turnover is None  # average equity <= 0
    assert perf.max_drawdown == 105_000


def test_charges_turn_a_scratch_into_a_loss() -> None:
    t = trade(Side.BUY, 100, 10_000, 10_000, 3_000, D1, D1)
    assert t.net_pnl == -3_000
    perf = compute_performance([EquityPoint(D1, 97_000)], [t], initial_capital=CAPITAL)
    assert (perf.winning_trades, perf.losing_trades) == (0, 1)
    assert perf.profit_factor == 0.0


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [(5, 2, 3), (-5, 2, -3), (7, 3, 2), (-7, 3, -2), (8, 3, 3), (0, 4, 0)],
)
def test_round_div_half_away_from_zero(num: int, den: int, expected: int) -> None:
    assert round_div(num, den) == expected


def test_ist_day_of_an_evening_utc_time_is_the_next_day() -> None:
    # 2026-12-07 20:00 UTC is 01:30 on 2026-12-08 in IST.
    utc_ns = int(datetime(2026, 12, 7, 20, 0, tzinfo=UTC).timestamp()) * 10**9
    assert ist_day(utc_ns) == date(2026, 12, 8)


@pytest.mark.parametrize(
    ("equity", "capital", "message"),
    [
        ([], CAPITAL, "empty"),
        ([EquityPoint(D1, 1)], 0, "initial capital"),
        ([EquityPoint(D2, 1), EquityPoint(D1, 1)], CAPITAL, "strictly increasing"),
        ([EquityPoint(D1, 1), EquityPoint(D1, 1)], CAPITAL, "strictly increasing"),
    ],
)
def test_bad_equity_is_rejected(equity: list[EquityPoint], capital: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_performance(equity, [], initial_capital=capital)


def test_bad_trades_are_rejected() -> None:
    good = TRADES[0]
    for bad, message in [
        (good._replace(quantity=0), "quantity"),
        (good._replace(exit_ts=good.entry_ts - 1), "before entry"),
        (good._replace(charges=-1), "charges"),
    ]:
        with pytest.raises(ValueError, match=message):
            compute_performance(EQUITY, [bad], initial_capital=CAPITAL)
    with pytest.raises(ValueError, match="risk rejections"):
        compute_performance(EQUITY, [], initial_capital=CAPITAL, risk_rejections=-1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10_000_000), min_size=1, max_size=40), st.integers(1, 10_000_000))
def test_max_drawdown_matches_brute_force(values: list[int], capital: int) -> None:
    equity = [EquityPoint(date.fromordinal(D1.toordinal() + i), v) for i, v in enumerate(values)]
    series = [capital, *values]
    worst = max(
        (
            100.0 * (series[i] - series[j]) / series[i]
            for i in range(len(series))
            for j in range(i + 1, len(series))
        ),
        default=0.0,
    )
    dd = max_drawdown(equity, capital)
    assert dd.pct == pytest.approx(max(worst, 0.0))
    if dd.paise:
        assert dd.trough_day is not None
        trough = series[1 + [p.day for p in equity].index(dd.trough_day)]
        assert 100.0 * dd.paise / (trough + dd.paise) == pytest.approx(dd.pct)
        assert 1 <= dd.days <= len(values)
