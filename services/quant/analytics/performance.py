"""Performance statistics of a backtest (or a paper run): pure, from daily equity and trades.

Input is the end-of-day equity of each trading day (:class:`EquityPoint`, IST dates,
integer paise, mark-to-market and net of charges) plus the round-trip trades
(:class:`TradeRecord`) and the count of orders the risk checks rejected.
:func:`compute_performance` returns a :class:`Performance`; :func:`drawdown_series` gives
the per-day drawdown for the equity CSV and chart. The backtest report
(:mod:`quant.backtest.report`) calls both.

Money stays integer paise; ratios (returns, Sharpe, win rate, ...) are floats. A ratio
that is undefined for the input (no trades, a single day, flat equity, no losing trade)
is ``None``, never NaN or infinity. Definitions (also in docs/strategies.md, "Reports"):

- daily return ``r_i = E_i / E_{i-1} - 1`` with ``E_0`` the initial capital, one per day;
- Sharpe = ``mean(r) / std(r, ddof=1) * sqrt(252)``, risk-free rate taken as 0;
- Sortino = ``mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(252)`` (target 0, all days in the mean);
- max drawdown = the largest fall from a running peak (initial capital included) in percent
  of that peak; its paise and duration are that episode's: trading days from the peak to
  the first day back at or above it, or to the last day when it has not recovered;
- a trade wins when its net P&L (gross minus charges) is > 0 and loses when < 0;
- profit factor = sum of winning trades' net P&L / |sum of losing trades' net P&L|;
- exposure = share of trading days on which a position was open at some time (a trade
  covers the IST days from its entry to its exit, both included);
- turnover = traded value (both legs of every trade) / average daily equity.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date, datetime
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from quant.core.clock import IST
from quant.core.orders import Side

TRADING_DAYS_PER_YEAR = 252
NS_PER_SECOND = 1_000_000_000


class EquityPoint(NamedTuple):
    """End-of-day equity of one trading day (IST date), paise, net of charges."""

    day: date
    equity: int


class TradeRecord(NamedTuple):
    """One round trip: entry and exit (UTC ns), average prices in paise, P&L and charges.

    ``side`` is the entry's side: BUY for a long trade, SELL for a short one. ``gross_pnl``
    is before charges; ``charges`` are both legs' brokerage, taxes and fees. Prices are
    averages over the fills and may round; the P&L fields are exact.
    """

    instrument_key: str
    side: Side
    quantity: int
    entry_ts: int
    exit_ts: int
    entry_price: int
    exit_price: int
    gross_pnl: int
    charges: int
    symbol: str = ""

    @property
    def net_pnl(self) -> int:
        """P&L after charges, paise."""
        return self.gross_pnl - self.charges

    @property
    def traded_value(self) -> int:
        """Value of both legs, paise."""
        return self.quantity * (self.entry_price + self.exit_price)


class Drawdown(NamedTuple):
    """A day's distance below the running peak: paise (<= 0) and percent of the peak (<= 0)."""

    day: date
    equity: int
    peak: int
    drawdown: int
    drawdown_pct: float


class Performance(NamedTuple):
    """The report's figures. Money in paise; ``None`` where a ratio is undefined."""

    days: int
    start_day: date
    end_day: date
    initial_capital: int
    final_equity: int
    net_pnl: int
    return_pct: float
    sharpe: float | None
    sortino: float | None
    max_drawdown_pct: float
    max_drawdown: int
    max_drawdown_days: int
    drawdown_peak_day: date | None
    drawdown_trough_day: date | None
    drawdown_recovery_day: date | None
    trades: int
    winning_trades: int
    losing_trades: int
    win_rate: float | None
    gross_profit: int
    gross_loss: int
    profit_factor: float | None
    average_trade: int | None
    gross_pnl: int
    charges: int
    exposure: float
    turnover: float | None
    traded_value: int
    risk_rejections: int


def ist_day(ts_ns: int) -> date:
    """IST calendar date of a UTC-ns timestamp."""
    return datetime.fromtimestamp(ts_ns // NS_PER_SECOND, tz=IST).date()


def _check_equity(equity: Sequence[EquityPoint], initial_capital: int) -> None:
    if not equity:
        raise ValueError("the equity series is empty: a report needs at least one trading day")
    if initial_capital <= 0:
        raise ValueError(f"initial capital must be > 0 paise, got {initial_capital}")
    for before, after in pairwise(equity):
        if after.day <= before.day:
            raise ValueError(
                f"equity days must be strictly increasing: {after.day} after {before.day}"
            )


def _check_trades(trades: Sequence[TradeRecord]) -> None:
    for t in trades:
        if t.quantity <= 0:
            raise ValueError(f"trade in {t.instrument_key}: quantity must be > 0, got {t.quantity}")
        if t.exit_ts < t.entry_ts:
            raise ValueError(
                f"trade in {t.instrument_key}: exit {t.exit_ts} before entry {t.entry_ts}"
            )
        if t.charges < 0:
            raise ValueError(f"trade in {t.instrument_key}: charges must be >= 0, got {t.charges}")


def round_div(numerator: int, denominator: int) -> int:
    """Integer ``numerator / denominator`` rounded half away from zero (denominator > 0)."""
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


def daily_returns(equity: Sequence[EquityPoint], initial_capital: int) -> list[float] | None:
    """One return per day against the previous day's equity (the capital for the first day).

    ``None`` when a previous equity is not positive (the return is then undefined).
    """
    values = [initial_capital, *(p.equity for p in equity)]
    if any(v <= 0 for v in values[:-1]):
        return None
    return [after / before - 1.0 for before, after in pairwise(values)]


def sharpe_ratio(returns: Sequence[float]) -> float | None:
    """Annualised Sharpe of daily returns (risk-free 0); None below 2 days or with no variance."""
    if len(returns) < 2:
        return None
    r = np.asarray(returns, dtype=np.float64)
    std = float(np.std(r, ddof=1))
    if std <= 1e-15:
        return None
    return float(np.mean(r)) / std * math.sqrt(TRADING_DAYS_PER_YEAR)


def sortino_ratio(returns: Sequence[float]) -> float | None:
    """Annualised Sortino of daily returns (target 0); None below 2 days or with no down day."""
    if len(returns) < 2:
        return None
    r = np.asarray(returns, dtype=np.float64)
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    if downside <= 1e-15:
        return None
    return float(np.mean(r)) / downside * math.sqrt(TRADING_DAYS_PER_YEAR)


def drawdown_series(equity: Sequence[EquityPoint], initial_capital: int) -> list[Drawdown]:
    """Each day's drawdown from the running peak, the initial capital counting as a peak."""
    peak = initial_capital
    out: list[Drawdown] = []
    for p in equity:
        peak = max(peak, p.equity)
        dd = p.equity - peak
        pct = 100.0 * dd / peak if peak > 0 else 0.0
        out.append(Drawdown(p.day, p.equity, peak, dd, pct))
    return out


class _MaxDrawdown(NamedTuple):
    pct: float
    paise: int
    days: int
    peak_day: date | None
    trough_day: date | None
    recovery_day: date | None


def max_drawdown(equity: Sequence[EquityPoint], initial_capital: int) -> _MaxDrawdown:
    """The deepest fall (in percent of its peak) and its duration in trading days."""
    series = drawdown_series(equity, initial_capital)
    trough = min(range(len(series)), key=lambda i: (series[i].drawdown_pct, i))
    if series[trough].drawdown >= 0:
        return _MaxDrawdown(0.0, 0, 0, None, None, None)
    peak_value = series[trough].peak
    # The peak is the last day at that value before the trough; -1 = the initial capital.
    peak = -1
    for i in range(trough, -1, -1):
        if series[i].equity == peak_value:
            peak = i
            break
    recovery = next(
        (i for i in range(trough + 1, len(series)) if series[i].equity >= peak_value), None
    )
    end = recovery if recovery is not None else len(series) - 1
    return _MaxDrawdown(
        pct=-series[trough].drawdown_pct,
        paise=-series[trough].drawdown,
        days=end - peak,
        peak_day=series[peak].day if peak >= 0 else None,
        trough_day=series[trough].day,
        recovery_day=series[recovery].day if recovery is not None else None,
    )


def exposure(equity: Sequence[EquityPoint], trades: Sequence[TradeRecord]) -> float:
    """Share of the equity series' days on which some trade was open (entry..exit IST days)."""
    days = [p.day for p in equity]
    marks = [0] * (len(days) + 1)
    for t in trades:
        first = bisect_left(days, ist_day(t.entry_ts))
        last = bisect_right(days, ist_day(t.exit_ts))
        if first < last:
            marks[first] += 1
            marks[last] -= 1
    open_trades, exposed = 0, 0
    for mark in marks[:-1]:
        open_trades += mark
        exposed += open_trades > 0
    return exposed / len(days)


def compute_performance(
    equity: Sequence[EquityPoint],
    trades: Sequence[TradeRecord],
    *,
    initial_capital: int,
    risk_rejections: int = 0,
) -> Performance:
    """All report figures for a run that started with ``initial_capital`` paise."""
    _check_equity(equity, initial_capital)
    _check_trades(trades)
    if risk_rejections < 0:
        raise ValueError(f"risk rejections must be >= 0, got {risk_rejections}")
    final = equity[-1].equity
    net = final - initial_capital
    returns = daily_returns(equity, initial_capital)
    dd = max_drawdown(equity, initial_capital)
    nets = [t.net_pnl for t in trades]
    gross_profit = sum(n for n in nets if n > 0)
    gross_loss = -sum(n for n in nets if n < 0)
    traded_value = sum(t.traded_value for t in trades)
    avg_equity = sum(p.equity for p in equity) / len(equity)
    return Performance(
        days=len(equity),
        start_day=equity[0].day,
        end_day=equity[-1].day,
        initial_capital=initial_capital,
        final_equity=final,
        net_pnl=net,
        return_pct=100.0 * net / initial_capital,
        sharpe=sharpe_ratio(returns) if returns is not None else None,
        sortino=sortino_ratio(returns) if returns is not None else None,
        max_drawdown_pct=dd.pct,
        max_drawdown=dd.paise,
        max_drawdown_days=dd.days,
        drawdown_peak_day=dd.peak_day,
        drawdown_trough_day=dd.trough_day,
        drawdown_recovery_day=dd.recovery_day,
        trades=len(trades),
        winning_trades=sum(1 for n in nets if n > 0),
        losing_trades=sum(1 for n in nets if n < 0),
        win_rate=sum(1 for n in nets if n > 0) / len(nets) if nets else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=gross_profit / gross_loss if gross_loss > 0 else None,
        average_trade=round_div(sum(nets), len(nets)) if nets else None,
        gross_pnl=sum(t.gross_pnl for t in trades),
        charges=sum(t.charges for t in trades),
        exposure=exposure(equity, trades),
        turnover=traded_value / avg_equity if avg_equity > 0 else None,
        traded_value=traded_value,
        risk_rejections=risk_rejections,
    )
