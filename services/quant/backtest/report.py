"""The backtest report: trades.csv, equity.csv and a self-contained report.html in one folder.

:func:`write_report` takes the run's daily equity, its round-trip trades, the candles to
draw them on and the count of orders risk rejected, computes the figures with
:func:`quant.analytics.performance.compute_performance` and writes the three files.
The HTML has inline CSS and SVG only (no script, no CDN, no network), so it opens offline;
every text is escaped. Output is deterministic: the same inputs give the same bytes (a
generation time appears only if the caller passes one in ``details``).

CSV money columns are rupees with two decimals (exact, from paise); times are ISO 8601 IST.
Called by the backtest command (and usable for a paper run's fills).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import NamedTuple

from quant.analytics.performance import (
    EquityPoint,
    Performance,
    TradeRecord,
    compute_performance,
    drawdown_series,
)
from quant.backtest.charts import candle_chart, day_label, drawdown_chart, equity_chart, rupees
from quant.core.clock import IST
from quant.core.events import Candle
from quant.core.money import paise_to_str
from quant.core.orders import Side

TRADES_COLUMNS = (
    "trade",
    "instrument_key",
    "symbol",
    "direction",
    "quantity",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "gross_pnl",
    "charges",
    "net_pnl",
)
EQUITY_COLUMNS = ("date", "equity", "peak", "drawdown", "drawdown_pct", "daily_return_pct")
MAX_TRADE_ROWS = 500
TABLE_HEADERS = (
    "#", "Instrument", "Dir", "Qty", "Entry", "Price", "Exit", "Price", "Gross", "Charges", "Net",
)  # fmt: skip
MAX_CANDLE_CHARTS = 8


class ReportFiles(NamedTuple):
    """Where the report's files were written."""

    trades_csv: Path
    equity_csv: Path
    html: Path


def iso_ist(ts_ns: int) -> str:
    """A UTC-ns time as ISO 8601 in IST, whole seconds."""
    return datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=IST).isoformat()


def _pct(value: float, digits: int = 4) -> str:
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.0000"


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def direction(side: Side) -> str:
    return "LONG" if side is Side.BUY else "SHORT"


def trades_csv(trades: Sequence[TradeRecord]) -> str:
    """One row per round trip, in the given order, numbered from 1."""
    rows = [
        (
            i,
            t.instrument_key,
            t.symbol,
            direction(t.side),
            t.quantity,
            iso_ist(t.entry_ts),
            paise_to_str(t.entry_price),
            iso_ist(t.exit_ts),
            paise_to_str(t.exit_price),
            paise_to_str(t.gross_pnl),
            paise_to_str(t.charges),
            paise_to_str(t.net_pnl),
        )
        for i, t in enumerate(trades, 1)
    ]
    return _csv(TRADES_COLUMNS, rows)


def equity_csv(equity: Sequence[EquityPoint], initial_capital: int) -> str:
    """Daily equity with the running peak, drawdown (<= 0) and the day's return."""
    rows = []
    previous = initial_capital
    for r in drawdown_series(equity, initial_capital):
        ret = 100.0 * (r.equity - previous) / previous if previous > 0 else None
        rows.append(
            (
                r.day.isoformat(),
                paise_to_str(r.equity),
                paise_to_str(r.peak),
                paise_to_str(r.drawdown),
                _pct(r.drawdown_pct),
                _pct(ret) if ret is not None else "",
            )
        )
        previous = r.equity
    return _csv(EQUITY_COLUMNS, rows)


def _ratio(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _days(n: int, unit: str = "days") -> str:
    return f"{n} {unit[:-1] if n == 1 else unit}"


def metric_rows(p: Performance) -> list[tuple[str, str, str]]:
    """(metric, value, note) rows of the summary table, formatted for people."""
    if p.profit_factor is not None:
        pf = f"{p.profit_factor:.2f}"
    else:
        pf = "∞" if p.gross_profit > 0 else "n/a"
    if p.max_drawdown > 0:
        start = day_label(p.drawdown_peak_day) if p.drawdown_peak_day else "the initial capital"
        end = (
            f"recovered {day_label(p.drawdown_recovery_day)}"
            if p.drawdown_recovery_day
            else "not recovered"
        )
        dd_note = f"from {start}, trough {day_label(p.drawdown_trough_day or p.end_day)}, {end}"
    else:
        dd_note = "no drawdown"
    win = f"{100 * p.win_rate:.1f}%" if p.win_rate is not None else "n/a"
    avg = rupees(p.average_trade, sign=True) if p.average_trade is not None else "n/a"
    return [
        ("Net P&L", rupees(p.net_pnl, sign=True), "final equity − initial capital, after charges"),
        ("Return", f"{p.return_pct:+.2f}%", "on the initial capital"),
        ("Sharpe", _ratio(p.sharpe), "annualised (252 days), daily returns, risk-free 0"),
        ("Sortino", _ratio(p.sortino), "annualised, downside deviation below 0"),
        ("Max drawdown", f"{p.max_drawdown_pct:.2f}% ({rupees(p.max_drawdown)})", dd_note),
        ("Drawdown duration", _days(p.max_drawdown_days), "trading days, peak to recovery"),
        ("Trades", str(p.trades), f"{p.winning_trades} won, {p.losing_trades} lost"),
        ("Win rate", win, "trades with net P&L > 0"),
        ("Profit factor", pf, "net profit of winners / net loss of losers"),
        ("Average trade", avg, "net P&L per trade"),
        ("Gross P&L", rupees(p.gross_pnl, sign=True), "closed trades, before charges"),
        ("Charges paid", rupees(p.charges), "brokerage, STT, exchange, SEBI, stamp, DP, GST"),
        ("Exposure", f"{100 * p.exposure:.1f}%", "share of days with an open position"),
        (
            "Turnover",
            f"{_ratio(p.turnover)}×",
            f"traded value {rupees(p.traded_value)} / avg equity",
        ),
        ("Orders rejected by risk", str(p.risk_rejections), "pre-trade risk checks"),
        ("Initial capital", rupees(p.initial_capital), ""),
        ("Final equity", rupees(p.final_equity), ""),
        (
            "Period",
            f"{day_label(p.start_day)} – {day_label(p.end_day)}",
            _days(p.days, "trading days"),
        ),
    ]


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
margin:0;background:#f6f7f9;color:#222;font-size:14px}
main{max-width:1160px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.details{color:#555;margin:0 0 16px}.details span{margin-right:18px}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 12px;margin:0 0 14px}
table{border-collapse:collapse;width:100%}
td,th{padding:5px 8px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600;position:sticky;top:0}
.summary{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}
.summary td.v{font-weight:600;white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}
.summary td.n{color:#666;font-size:12px}
.trades .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pos{color:#1a7f37}.neg{color:#c62828}.muted{color:#777}
.chart{display:block}.chart text{font-size:12px;fill:#555}
.chart .ct{font-size:14px;font-weight:600;fill:#222}
.chart .yl{text-anchor:end;dominant-baseline:middle}
"""


def _summary(p: Performance) -> str:
    rows = metric_rows(p)
    half = (len(rows) + 1) // 2
    tables = []
    for chunk in (rows[:half], rows[half:]):
        body = "".join(
            f'<tr><td>{escape(m)}</td><td class="v">{escape(v)}</td>'
            f'<td class="n">{escape(n)}</td></tr>'
            for m, v, n in chunk
        )
        tables.append(f"<table><tbody>{body}</tbody></table>")
    return f'<div class="card summary">{"".join(tables)}</div>'


def _money_cell(paise: int) -> str:
    cls = "pos" if paise > 0 else ("neg" if paise < 0 else "muted")
    return f'<td class="num {cls}">{escape(rupees(paise, sign=True))}</td>'


def _trades_table(trades: Sequence[TradeRecord]) -> str:
    if not trades:
        return '<p class="muted">No trades.</p>'
    numeric = {"#", "Qty", "Price", "Gross", "Charges", "Net"}
    head = "".join(
        f'<th class="num">{h}</th>' if h in numeric else f"<th>{h}</th>" for h in TABLE_HEADERS
    )
    rows = []
    for i, t in enumerate(trades[:MAX_TRADE_ROWS], 1):
        rows.append(
            f'<tr><td class="num">{i}</td><td>{escape(t.symbol or t.instrument_key)}</td>'
            f"<td>{direction(t.side)}</td><td class='num'>{t.quantity}</td>"
            f"<td>{escape(iso_ist(t.entry_ts)[:19].replace('T', ' '))}</td>"
            f'<td class="num">{escape(rupees(t.entry_price))}</td>'
            f"<td>{escape(iso_ist(t.exit_ts)[:19].replace('T', ' '))}</td>"
            f'<td class="num">{escape(rupees(t.exit_price))}</td>'
            f"{_money_cell(t.gross_pnl)}"
            f'<td class="num">{escape(rupees(t.charges))}</td>{_money_cell(t.net_pnl)}</tr>'
        )
    more = ""
    if len(trades) > MAX_TRADE_ROWS:
        more = (
            f'<p class="muted">First {MAX_TRADE_ROWS} of {len(trades)} trades; '
            "all of them are in trades.csv.</p>"
        )
    return (
        f'<div class="card trades"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{more}</div>"
    )


def _candle_section(bars: Sequence[Candle], trades: Sequence[TradeRecord]) -> str:
    by_key: dict[str, list[Candle]] = {}
    for b in bars:
        by_key.setdefault(b.instrument_key, []).append(b)
    if not by_key:
        return '<p class="muted">No candles were given for this report.</p>'
    names = {t.instrument_key: t.symbol for t in trades if t.symbol}
    traded = {t.instrument_key for t in trades}
    # Instruments with trades first, then by key; at most MAX_CANDLE_CHARTS charts.
    keys = sorted(by_key, key=lambda k: (k not in traded, k))
    charts = []
    for key in keys[:MAX_CANDLE_CHARTS]:
        series = sorted(by_key[key], key=lambda b: b.ts_start)
        own = [t for t in trades if t.instrument_key == key]
        name = f"{names[key]} ({key})" if key in names else key
        charts.append(f'<div class="card">{candle_chart(name, series, own)}</div>')
    if len(keys) > MAX_CANDLE_CHARTS:
        charts.append(
            f'<p class="muted">{len(keys) - MAX_CANDLE_CHARTS} more instruments not drawn.</p>'
        )
    return "".join(charts)


def render_html(
    perf: Performance,
    equity: Sequence[EquityPoint],
    trades: Sequence[TradeRecord],
    bars: Sequence[Candle],
    *,
    title: str = "Backtest report",
    details: Sequence[tuple[str, str]] = (),
) -> str:
    """The whole report as one HTML document (inline CSS and SVG, nothing external)."""
    rows = drawdown_series(equity, perf.initial_capital)
    info = "".join(f"<span><b>{escape(k)}</b>: {escape(v)}</span>" for k, v in details)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="details">{info}</p>'
        f"{_summary(perf)}"
        f'<h2>Equity</h2><div class="card">{equity_chart(rows, perf.initial_capital)}'
        f"{drawdown_chart(rows)}</div>"
        f"<h2>Trades on the candles</h2>{_candle_section(bars, trades)}"
        f"<h2>Trades</h2>{_trades_table(trades)}"
        "</main></body></html>\n"
    )


def write_report(
    out_dir: Path,
    *,
    equity: Sequence[EquityPoint],
    trades: Sequence[TradeRecord],
    bars: Sequence[Candle] = (),
    initial_capital: int,
    risk_rejections: int = 0,
    title: str = "Backtest report",
    details: Sequence[tuple[str, str]] = (),
) -> ReportFiles:
    """Compute the figures and write trades.csv, equity.csv and report.html in ``out_dir``."""
    perf = compute_performance(
        equity, trades, initial_capital=initial_capital, risk_rejections=risk_rejections
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out_dir / "trades.csv", out_dir / "equity.csv", out_dir / "report.html")
    contents = (
        trades_csv(trades),
        equity_csv(equity, initial_capital),
        render_html(perf, equity, trades, bars, title=title, details=details),
    )
    for path, text in zip(files, contents, strict=True):
        path.write_text(text, encoding="utf-8", newline="")
    return files
