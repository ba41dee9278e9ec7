"""The backtest report: files, CSV columns, offline HTML, escaping, deterministic bytes."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, time
from pathlib import Path

import pytest
from report_kit import CAPITAL, sample

from quant.analytics.performance import (
    EquityPoint,
    TradeRecord,
    compute_performance,
    drawdown_series,
)
from quant.backtest import charts
from quant.backtest.report import (
    EQUITY_COLUMNS,
    MAX_TRADE_ROWS,
    TRADES_COLUMNS,
    equity_csv,
    metric_rows,
    render_html,
    trades_csv,
    write_report,
)
from quant.core.clock import IST
from quant.core.events import Candle
from quant.core.orders import Side

D1, D2 = date(2026, 11, 2), date(2026, 11, 3)
KEY = "NSE_EQ|INE002A01018"


def ns(day: date, hh: int, mm: int) -> int:
    return int(datetime.combine(day, time(hh, mm), tzinfo=IST).timestamp()) * 1_000_000_000


def one_trade(key: str = KEY, symbol: str = "RELIANCE") -> TradeRecord:
    # Long 10 @ ₹1,285.50 -> ₹1,290.00: gross 10 x 450 = 4500 paise, charges 123.
    return TradeRecord(
        key, Side.BUY, 10, ns(D1, 9, 20), ns(D1, 10, 5), 128_550, 129_000, 4_500, 123, symbol
    )


def bars(key: str = KEY) -> list[Candle]:
    return [
        Candle(key, 300, ns(D1, 9, 15) + i * 300 * 10**9, 128_500, 129_100, 128_400, 128_900, 100)
        for i in range(20)
    ]


def write_sample(out: Path) -> tuple[Path, Path, Path]:
    s = sample(days=4)
    return write_report(
        out,
        equity=s.equity,
        trades=s.trades,
        bars=s.bars,
        initial_capital=s.initial_capital,
        risk_rejections=2,
        details=[("Strategy", "orb")],
    )


def test_writes_the_three_files_in_a_new_folder(tmp_path: Path) -> None:
    files = write_sample(tmp_path / "run" / "report")
    assert [f.name for f in files] == ["trades.csv", "equity.csv", "report.html"]
    assert all(f.parent == tmp_path / "run" / "report" for f in files)
    html = files[2].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 4  # equity, drawdown, two instruments' candles
    assert "Orders rejected by risk" in html


def test_trades_csv_columns_and_exact_money() -> None:
    rows = list(csv.reader(io.StringIO(trades_csv([one_trade()]))))
    assert tuple(rows[0]) == TRADES_COLUMNS
    assert rows[1] == [
        "1",
        KEY,
        "RELIANCE",
        "LONG",
        "10",
        "2026-11-02T09:20:00+05:30",
        "1285.50",
        "2026-11-02T10:05:00+05:30",
        "1290.00",
        "45.00",
        "1.23",
        "43.77",
    ]


def test_equity_csv_columns_drawdown_and_returns() -> None:
    equity = [EquityPoint(D1, 110_000), EquityPoint(D2, 99_000)]
    rows = list(csv.reader(io.StringIO(equity_csv(equity, 100_000))))
    assert tuple(rows[0]) == EQUITY_COLUMNS
    # Day 1: +10 % from the capital, at its peak; day 2: 11000 paise (10 %) below it.
    assert rows[1] == ["2026-11-02", "1100.00", "1100.00", "0.00", "0.0000", "10.0000"]
    assert rows[2] == ["2026-11-03", "990.00", "1100.00", "-110.00", "-10.0000", "-10.0000"]


def test_html_references_nothing_outside_the_file(tmp_path: Path) -> None:
    html = write_sample(tmp_path)[2].read_text(encoding="utf-8")
    assert not re.search(r"https?://|//cdn|<script|<link|<iframe|<img|@import|url\(", html, re.I)
    assert not re.search(r"\b(src|href)\s*=", html, re.I)


def test_a_malicious_instrument_name_is_escaped() -> None:
    evil_symbol = "<script>alert('x')</script>"
    evil_key = 'NSE_EQ|"><img src=x onerror=alert(1)>'
    trade = one_trade(evil_key, evil_symbol)
    equity = [EquityPoint(D1, CAPITAL + trade.net_pnl)]
    perf = compute_performance(equity, [trade], initial_capital=CAPITAL)
    html = render_html(
        perf,
        equity,
        [trade],
        bars(evil_key),
        title="<b>run</b>",
        details=[("<i>k</i>", "v & <u>w</u>")],
    )
    assert "<script" not in html
    assert "<img" not in html
    assert "<b>run" not in html
    assert "<i>k" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "v &amp; &lt;u&gt;w&lt;/u&gt;" in html


def test_same_input_same_bytes(tmp_path: Path) -> None:
    a = write_sample(tmp_path / "a")
    b = write_sample(tmp_path / "b")
    for fa, fb in zip(a, b, strict=True):
        assert fa.read_bytes() == fb.read_bytes(), fa.name


def test_no_trades_no_bars_one_day(tmp_path: Path) -> None:
    files = write_report(
        tmp_path, equity=[EquityPoint(D1, CAPITAL)], trades=[], initial_capital=CAPITAL
    )
    assert files[0].read_text(encoding="utf-8") == ",".join(TRADES_COLUMNS) + "\n"
    html = files[2].read_text(encoding="utf-8")
    assert "No trades." in html
    assert "No candles were given" in html
    assert html.count("<svg") == 2


def test_summary_shows_infinite_and_undefined_ratios() -> None:
    win = one_trade()
    equity = [EquityPoint(D1, CAPITAL + win.net_pnl)]
    all_wins = dict(
        (m, v)
        for m, v, _ in metric_rows(compute_performance(equity, [win], initial_capital=CAPITAL))
    )
    assert all_wins["Profit factor"] == "∞"
    assert all_wins["Sharpe"] == "n/a"  # one day
    assert all_wins["Win rate"] == "100.0%"
    assert all_wins["Net P&L"] == "+₹43.77"
    none = dict(
        (m, v) for m, v, _ in metric_rows(compute_performance(equity, [], initial_capital=CAPITAL))
    )
    assert none["Profit factor"] == "n/a"
    assert none["Average trade"] == "n/a"


def test_long_runs_are_merged_and_the_trades_table_is_capped() -> None:
    many = [one_trade()._replace(entry_ts=ns(D1, 9, 20) + i) for i in range(MAX_TRADE_ROWS + 5)]
    equity = [EquityPoint(D1, CAPITAL)]
    perf = compute_performance(equity, many, initial_capital=CAPITAL)
    long_bars = [
        b._replace(ts_start=ns(D1, 9, 15) + i * 60 * 10**9) for i, b in enumerate(bars() * 50)
    ]
    html = render_html(perf, equity, many, long_bars)
    assert f"First {MAX_TRADE_ROWS} of {MAX_TRADE_ROWS + 5} trades" in html
    assert "1000 bars, each candle = 5 bars" in html


def test_charts_are_well_formed_svg() -> None:
    s = sample(days=3)
    rows = drawdown_series(s.equity, s.initial_capital)
    rel = [b for b in s.bars if b.instrument_key == KEY]
    own = [t for t in s.trades if t.instrument_key == KEY]
    for svg in (
        charts.equity_chart(rows, s.initial_capital),
        charts.drawdown_chart(rows),
        charts.candle_chart("RELIANCE <&>", rel, own),
    ):
        root = ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is XML
        assert root.tag == "svg"


def test_merge_bars_keeps_ohlc() -> None:
    b = [Candle(KEY, 60, i, 100 + i, 110 + i, 90 - i, 105 + i, 1) for i in range(5)]
    merged, k = charts.merge_bars(b, 2)
    assert k == 3
    assert merged[0] == Candle(KEY, 60, 0, 100, 112, 88, 107, 3)
    assert merged[1] == Candle(KEY, 60, 3, 103, 114, 86, 109, 2)


@pytest.mark.parametrize(
    ("paise", "text"),
    [(0, "₹0.00"), (5, "₹0.05"), (123_456_78, "₹1,23,456.78"), (-10_00_000_00, "-₹10,00,000.00")],
)
def test_rupees_indian_grouping(paise: int, text: str) -> None:
    assert charts.rupees(paise) == text


def test_nice_ticks_cover_the_range() -> None:
    lo, hi, ticks = charts.nice_ticks(995.0, 1_003.0)
    assert (lo, hi) == (994.0, 1_004.0)
    assert ticks == [994.0, 996.0, 998.0, 1_000.0, 1_002.0, 1_004.0]
    lo, hi, ticks = charts.nice_ticks(5.0, 5.0)  # flat: padded, never a zero range
    assert lo < 5.0 < hi
    assert charts.tick_digits([-0.75, -0.5, -0.25, 0.0]) == 2
