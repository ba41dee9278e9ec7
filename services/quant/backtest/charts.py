"""Inline SVG charts for the backtest report: equity curve, drawdown, candles with trades.

Plain strings built in Python (no JavaScript, no external assets), so report.html opens
offline and the same input gives the same bytes. Every text is escaped; hover details
use SVG ``<title>`` elements. Prices and equity arrive as integer paise and become floats
only as drawing coordinates. Called by :mod:`quant.backtest.report`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime
from html import escape
from typing import NamedTuple

from quant.analytics.performance import Drawdown, TradeRecord
from quant.core.clock import IST
from quant.core.events import Candle
from quant.core.orders import Side

WIDTH = 1100
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UP, DOWN, LINE, LOSS, GRID, TEXT = "#1a9850", "#d73027", "#2c5aa0", "#d73027", "#e3e6ea", "#555"
ENTRY, EXIT = "#2166ac", "#f4a582"
MAX_X_LABELS = 8
MAX_DOTS = 60  # equity points drawn as dots up to this many days


class Frame(NamedTuple):
    """A plot area inside an SVG of ``WIDTH`` x ``height``; maps data to pixels."""

    height: int
    left: int = 78
    right: int = 44
    top: int = 30
    bottom: int = 28

    @property
    def plot_w(self) -> float:
        return float(WIDTH - self.left - self.right)

    @property
    def plot_h(self) -> float:
        return float(self.height - self.top - self.bottom)

    def x(self, i: float, n: int) -> float:
        """Pixel x of slot ``i`` (centre) out of ``n`` evenly spaced slots."""
        return self.left + (i + 0.5) * self.plot_w / max(n, 1)

    def y(self, v: float, lo: float, hi: float) -> float:
        return self.top + (hi - v) / (hi - lo) * self.plot_h


def _f(v: float) -> str:
    """A coordinate with one decimal (fixed format keeps the bytes stable)."""
    return f"{v:.1f}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> tuple[float, float, list[float]]:
    """A rounded axis range covering [lo, hi] and its ticks at a 1/2/2.5/5 x 10^k step."""
    if not hi > lo:
        pad = abs(lo) * 0.01 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / count
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return first * step, last * step, [k * step for k in range(first, last + 1)]


def indian_group(whole: int) -> str:
    """Digits grouped the Indian way: 1234567 -> '12,34,567'."""
    s = str(abs(whole))
    if len(s) > 3:
        head, tail = s[:-3], s[-3:]
        pairs = [head[max(i - 2, 0) : i] for i in range(len(head), 0, -2)][::-1]
        s = ",".join([*pairs, tail])
    return ("-" if whole < 0 else "") + s


def rupees(paise: int, *, sign: bool = False) -> str:
    """Paise as '₹1,23,456.78' (exact; '+' in front of gains when ``sign``)."""
    whole, frac = divmod(abs(paise), 100)
    prefix = "-" if paise < 0 else ("+" if sign and paise > 0 else "")
    return f"{prefix}₹{indian_group(whole)}.{frac:02d}"


def axis_rupees(value_rupees: float, step_rupees: float) -> str:
    """An axis label in rupees: lakh/crore for big values, decimals only for small steps."""
    v = abs(value_rupees)
    sign = "-" if value_rupees < 0 and v > step_rupees * 1e-6 else ""
    if v >= 1e7 and step_rupees >= 1e5:
        return f"{sign}₹{v / 1e7:.2f} Cr"
    if v >= 1e5 and step_rupees >= 1e3:
        return f"{sign}₹{v / 1e5:.2f} L"
    if step_rupees < 1:
        return f"{sign}₹{v:.2f}"
    return f"{sign}₹{indian_group(round(v))}"


def day_label(d: date) -> str:
    return f"{d.day:02d} {MONTHS[d.month - 1]} {d.year}"


def time_label(ts_ns: int, interval_seconds: int) -> str:
    t = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=IST)
    if interval_seconds >= 86_400:
        return day_label(t.date())
    return f"{t.day:02d} {MONTHS[t.month - 1]} {t.hour:02d}:{t.minute:02d}"


def _svg_open(height: int, label: str) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" class="chart">'
    )


def _title(frame: Frame, text: str) -> str:
    return f'<text x="{frame.left}" y="18" class="ct">{escape(text)}</text>'


def _y_axis(frame: Frame, lo: float, hi: float, ticks: list[float], fmt: str) -> list[str]:
    """Grid lines and labels; ``fmt`` 'rupees' or 'pct'."""
    out = []
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for t in ticks:
        y = _f(frame.y(t, lo, hi))
        label = axis_rupees(t, step) if fmt == "rupees" else f"{t:.{tick_digits(ticks)}f}%"
        out.append(
            f'<line x1="{frame.left}" x2="{WIDTH - frame.right}" y1="{y}" y2="{y}" '
            f'stroke="{GRID}"/>'
            f'<text x="{frame.left - 6}" y="{y}" class="yl">{escape(label)}</text>'
        )
    return out


def tick_digits(ticks: Sequence[float]) -> int:
    """The fewest decimals (up to 4) that show every tick exactly."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    for digits in range(5):
        if all(abs(round(t, digits) - t) < step * 1e-6 for t in ticks):
            return digits
    return 4


def _x_labels(frame: Frame, labels: Sequence[str], n: int) -> list[str]:
    """At most MAX_X_LABELS labels spread evenly over ``n`` slots (first and last included)."""
    if n == 0:
        return []
    picks = sorted({round(k * (n - 1) / (MAX_X_LABELS - 1)) for k in range(MAX_X_LABELS)})
    y = frame.height - frame.bottom + 17
    return [
        f'<text x="{_f(frame.x(i, n))}" y="{y}" class="xl" text-anchor="middle">'
        f"{escape(labels[i])}</text>"
        for i in picks
    ]


def _hover(frame: Frame, i: int, n: int, tip: str) -> str:
    """An invisible full-height column over slot ``i`` that shows ``tip`` on hover."""
    slot = frame.plot_w / max(n, 1)
    return (
        f'<rect x="{_f(frame.left + i * slot)}" y="{frame.top}" width="{_f(slot)}" '
        f'height="{_f(frame.plot_h)}" fill="transparent"><title>{escape(tip)}</title></rect>'
    )


def equity_chart(rows: Sequence[Drawdown], initial_capital: int, height: int = 320) -> str:
    """The daily equity as a line, with the initial capital as a dashed reference."""
    frame = Frame(height)
    values = [r.equity / 100 for r in rows]
    capital = initial_capital / 100
    lo, hi, ticks = nice_ticks(min(*values, capital), max(*values, capital))
    n = len(rows)
    pts = " ".join(f"{_f(frame.x(i, n))},{_f(frame.y(v, lo, hi))}" for i, v in enumerate(values))
    cap_y = _f(frame.y(capital, lo, hi))
    parts = [
        _svg_open(height, "Equity curve"),
        _title(frame, "Equity (end of day)"),
        *_y_axis(frame, lo, hi, ticks, "rupees"),
        f'<line x1="{frame.left}" x2="{WIDTH - frame.right}" y1="{cap_y}" y2="{cap_y}" '
        f'stroke="#999" stroke-dasharray="5,4"><title>Initial capital '
        f"{escape(rupees(initial_capital))}</title></line>",
        f'<polyline points="{pts}" fill="none" stroke="{LINE}" stroke-width="2"/>',
    ]
    if n <= MAX_DOTS:
        parts += [
            f'<circle cx="{_f(frame.x(i, n))}" cy="{_f(frame.y(v, lo, hi))}" r="2.5" '
            f'fill="{LINE}"/>'
            for i, v in enumerate(values)
        ]
    parts += [
        _hover(frame, i, n, f"{day_label(r.day)}: {rupees(r.equity)}") for i, r in enumerate(rows)
    ]
    parts += _x_labels(frame, [day_label(r.day) for r in rows], n)
    parts.append("</svg>")
    return "".join(parts)


def drawdown_chart(rows: Sequence[Drawdown], height: int = 220) -> str:
    """Each day's percentage below the running peak, as a filled area under zero."""
    frame = Frame(height)
    values = [r.drawdown_pct for r in rows]
    lo, hi, ticks = nice_ticks(min(*values, -0.1), 0.0, 4)
    n = len(rows)
    zero = _f(frame.y(0.0, lo, hi))
    pts = [f"{_f(frame.x(i, n))},{_f(frame.y(v, lo, hi))}" for i, v in enumerate(values)]
    area = f"{_f(frame.x(0, n))},{zero} {' '.join(pts)} {_f(frame.x(n - 1, n))},{zero}"
    parts = [
        _svg_open(height, "Drawdown"),
        _title(frame, "Drawdown (% below the running peak)"),
        *_y_axis(frame, lo, hi, ticks, "pct"),
        f'<polygon points="{area}" fill="{LOSS}" fill-opacity="0.25" stroke="none"/>',
        f'<polyline points="{" ".join(pts)}" fill="none" stroke="{LOSS}" stroke-width="1.5"/>',
    ]
    parts += [
        _hover(frame, i, n, f"{day_label(r.day)}: {r.drawdown_pct:.2f}% ({rupees(r.drawdown)})")
        for i, r in enumerate(rows)
    ]
    parts += _x_labels(frame, [day_label(r.day) for r in rows], n)
    parts.append("</svg>")
    return "".join(parts)


def merge_bars(bars: Sequence[Candle], max_bars: int) -> tuple[list[Candle], int]:
    """Consecutive bars merged k at a time so at most ``max_bars`` remain; returns (bars, k)."""
    k = max(1, math.ceil(len(bars) / max_bars))
    if k == 1:
        return list(bars), 1
    out = []
    for i in range(0, len(bars), k):
        g = bars[i : i + k]
        out.append(
            g[0]._replace(
                high=max(b.high for b in g),
                low=min(b.low for b in g),
                close=g[-1].close,
                volume=sum(b.volume for b in g),
            )
        )
    return out, k


def _marker(x: float, y: float, side: Side, color: str, tip: str) -> str:
    """A triangle pointing up for a buy, down for a sell."""
    d = 7.0
    if side is Side.BUY:
        pts = f"{_f(x)},{_f(y - 2)} {_f(x - d)},{_f(y + d + 4)} {_f(x + d)},{_f(y + d + 4)}"
    else:
        pts = f"{_f(x)},{_f(y + 2)} {_f(x - d)},{_f(y - d - 4)} {_f(x + d)},{_f(y - d - 4)}"
    return (
        f'<polygon points="{pts}" fill="{color}" stroke="#222" stroke-width="0.8">'
        f"<title>{escape(tip)}</title></polygon>"
    )


def ts_day(ts_ns: int) -> date:
    return datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=IST).date()


def _legend(frame: Frame) -> str:
    """Marker key in the title row, right-aligned."""
    x = WIDTH - frame.right - 330
    items = [
        _marker(x, 7, Side.BUY, ENTRY, "entry"),
        f'<text x="{x + 11}" y="18">entry</text>',
        _marker(x + 60, 7, Side.BUY, EXIT, "exit"),
        f'<text x="{x + 71}" y="18">exit (▲ buy ▼ sell)</text>',
        f'<line x1="{x + 205}" x2="{x + 229}" y1="14" y2="14" stroke="{UP}" stroke-width="2" '
        'stroke-dasharray="4,3"/>',
        f'<text x="{x + 234}" y="18">win</text>',
        f'<line x1="{x + 264}" x2="{x + 288}" y1="14" y2="14" stroke="{LOSS}" stroke-width="2" '
        'stroke-dasharray="4,3"/>',
        f'<text x="{x + 293}" y="18">loss</text>',
    ]
    return "".join(items)


def _day_starts(frame: Frame, shown: Sequence[Candle]) -> tuple[list[str], list[str]]:
    """Separator lines where a new IST day starts and labels (thinned) at those days."""
    n = len(shown)
    slot = frame.plot_w / max(n, 1)
    days = [ts_day(b.ts_start) for b in shown]
    starts = [0, *(i for i in range(1, n) if days[i] != days[i - 1])]
    lines = []
    for i in starts[1:]:
        x = _f(frame.left + i * slot)
        lines.append(
            f'<line x1="{x}" x2="{x}" y1="{frame.top}" y2="{_f(frame.top + frame.plot_h)}" '
            'stroke="#c9ced6" stroke-dasharray="2,3"/>'
        )
    every = math.ceil(len(starts) / MAX_X_LABELS)
    y = frame.height - frame.bottom + 17
    labels = [
        f'<text x="{_f(frame.left + i * slot)}" y="{y}" class="xl" text-anchor="start">'
        f"{escape(day_label(days[i]))}</text>"
        for i in starts[::every]
    ]
    return lines, labels


def candle_chart(
    name: str,
    bars: Sequence[Candle],
    trades: Sequence[TradeRecord],
    *,
    max_bars: int = 240,
    height: int = 380,
) -> str:
    """One instrument's candles (merged down to ``max_bars``) with its trades marked.

    Entries are triangles in the trade's direction (up = buy), exits the opposite one;
    a dashed line joins them, green for a winning trade (net of charges), red otherwise.
    """
    frame = Frame(height)
    shown, k = merge_bars(bars, max_bars)
    n = len(shown)
    prices = [p for b in shown for p in (b.high, b.low)]
    prices += [p for t in trades for p in (t.entry_price, t.exit_price)]
    lo, hi, ticks = nice_ticks(min(prices) / 100, max(prices) / 100)
    interval = bars[0].interval_seconds * k
    merged = f", each candle = {k} bars" if k > 1 else ""
    parts = [
        _svg_open(height, f"Candles and trades: {name}"),
        _title(frame, f"{name}: {len(bars)} bars{merged}, {len(trades)} trades"),
        *_y_axis(frame, lo, hi, ticks, "rupees"),
    ]
    slot = frame.plot_w / max(n, 1)
    body_w = max(1.0, slot * 0.7)
    days = {ts_day(b.ts_start) for b in shown}
    if interval < 86_400 and len(days) > 1:  # intraday over several days: mark each day
        lines, x_labels = _day_starts(frame, shown)
        parts += lines
    else:
        x_labels = _x_labels(frame, [time_label(b.ts_start, interval) for b in shown], n)
    parts.append(_legend(frame))
    for i, b in enumerate(shown):
        x = frame.x(i, n)
        color = UP if b.close >= b.open else DOWN
        top = frame.y(max(b.open, b.close) / 100, lo, hi)
        bottom = frame.y(min(b.open, b.close) / 100, lo, hi)
        tip = (
            f"{time_label(b.ts_start, interval)}  O {rupees(b.open)}  H {rupees(b.high)}  "
            f"L {rupees(b.low)}  C {rupees(b.close)}  V {b.volume}"
        )
        parts.append(
            f'<g><title>{escape(tip)}</title><line x1="{_f(x)}" x2="{_f(x)}" '
            f'y1="{_f(frame.y(b.high / 100, lo, hi))}" y2="{_f(frame.y(b.low / 100, lo, hi))}" '
            f'stroke="{color}"/><rect x="{_f(x - body_w / 2)}" y="{_f(top)}" '
            f'width="{_f(body_w)}" height="{_f(max(bottom - top, 1.0))}" fill="{color}"/></g>'
        )
    starts = [b.ts_start for b in bars]
    for t in trades:
        xe = frame.x(max(bisect_right(starts, t.entry_ts) - 1, 0) // k, n)
        xx = frame.x(max(bisect_right(starts, t.exit_ts) - 1, 0) // k, n)
        ye, yx = frame.y(t.entry_price / 100, lo, hi), frame.y(t.exit_price / 100, lo, hi)
        won = t.net_pnl > 0
        exit_side = Side.SELL if t.side is Side.BUY else Side.BUY
        what = "long" if t.side is Side.BUY else "short"
        result = f"net {rupees(t.net_pnl, sign=True)} (charges {rupees(t.charges)})"
        parts += [
            f'<line x1="{_f(xe)}" y1="{_f(ye)}" x2="{_f(xx)}" y2="{_f(yx)}" '
            f'stroke="{UP if won else LOSS}" stroke-width="1.5" stroke-dasharray="4,3"/>',
            _marker(
                xe,
                ye,
                t.side,
                ENTRY,
                f"Entry {what} {t.quantity} @ {rupees(t.entry_price)}, "
                f"{time_label(t.entry_ts, 60)}",
            ),
            _marker(
                xx,
                yx,
                exit_side,
                EXIT,
                f"Exit {what} {t.quantity} @ {rupees(t.exit_price)}, "
                f"{time_label(t.exit_ts, 60)}: {result}",
            ),
        ]
    parts += x_labels
    parts.append("</svg>")
    return "".join(parts)
