"""A small synthetic backtest (bars, trades, daily equity) for the report tests and a look at it.

`sample()` is deterministic: a seeded random walk of 5-minute bars per instrument over a
few IST trading days, intraday round trips entered and exited at bar closes, charges at
0.05 % of traded value, and the daily equity they imply. Run this module to write the
sample report into a folder: `python tests/unit/backtest/report_kit.py /tmp/report`.
"""

from __future__ import annotations

import random
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import NamedTuple

from quant.analytics.performance import EquityPoint, TradeRecord, ist_day
from quant.core.clock import IST
from quant.core.events import Candle
from quant.core.orders import Side

BAR_SECONDS = 300
BARS_PER_DAY = 75  # 09:15 .. 15:30
CAPITAL = 10_00_000_00  # ₹10 lakh in paise


class Sample(NamedTuple):
    equity: list[EquityPoint]
    trades: list[TradeRecord]
    bars: list[Candle]
    initial_capital: int


def trading_days(start: date, count: int) -> list[date]:
    days: list[date] = []
    d = start
    while len(days) < count:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def ns(day: date, hh: int, mm: int) -> int:
    return int(datetime.combine(day, time(hh, mm), tzinfo=IST).timestamp()) * 1_000_000_000


def walk(key: str, days: list[date], start_paise: int, rng: random.Random) -> list[Candle]:
    bars, price = [], start_paise
    for d in days:
        t0 = ns(d, 9, 15)
        for i in range(BARS_PER_DAY):
            o = price
            c = max(100, o + round(rng.gauss(0, o * 0.003)))
            h = max(o, c) + abs(round(rng.gauss(0, o * 0.0015)))
            lo = min(o, c) - abs(round(rng.gauss(0, o * 0.0015)))
            vol = 1_000 + rng.randrange(5_000)
            bars.append(Candle(key, BAR_SECONDS, t0 + i * BAR_SECONDS * 10**9, o, h, lo, c, vol))
            price = c
    return bars


def round_trips(bars: list[Candle], symbol: str, rng: random.Random) -> list[TradeRecord]:
    trades = []
    for day_start in range(0, len(bars), BARS_PER_DAY):
        day = bars[day_start : day_start + BARS_PER_DAY]
        i = rng.randrange(3, 30)
        while i < len(day) - 10:
            j = i + rng.randrange(3, 12)
            side = Side.BUY if rng.random() < 0.6 else Side.SELL
            qty = 10 * (1 + rng.randrange(10))
            entry, exit_ = day[i].close, day[j].close
            sign = 1 if side is Side.BUY else -1
            gross = sign * qty * (exit_ - entry)
            charges = (qty * (entry + exit_) * 5 + 5_000) // 10_000  # 0.05 % of traded value
            trades.append(
                TradeRecord(
                    day[i].instrument_key,
                    side,
                    qty,
                    day[i].ts_start + BAR_SECONDS * 10**9,
                    day[j].ts_start + BAR_SECONDS * 10**9,
                    entry,
                    exit_,
                    gross,
                    charges,
                    symbol,
                )
            )
            i = j + rng.randrange(5, 25)
    return trades


def equity_of(days: list[date], trades: list[TradeRecord], capital: int) -> list[EquityPoint]:
    by_day: dict[date, int] = {}
    for t in trades:
        by_day[ist_day(t.exit_ts)] = by_day.get(ist_day(t.exit_ts), 0) + t.net_pnl
    out, equity = [], capital
    for d in days:
        equity += by_day.get(d, 0)
        out.append(EquityPoint(d, equity))
    return out


def sample(days: int = 8, seed: int = 7) -> Sample:
    rng = random.Random(seed)
    calendar = trading_days(date(2026, 11, 2), days)
    rel = walk("NSE_EQ|INE002A01018", calendar, 1_285_50, rng)
    infy = walk("NSE_EQ|INE009A01021", calendar, 1_512_25, rng)
    trades = sorted(
        round_trips(rel, "RELIANCE", rng) + round_trips(infy, "INFY", rng),
        key=lambda t: (t.entry_ts, t.instrument_key),
    )
    return Sample(equity_of(calendar, trades, CAPITAL), trades, rel + infy, CAPITAL)


if __name__ == "__main__":
    from quant.backtest.report import write_report

    s = sample()
    files = write_report(
        Path(sys.argv[1]),
        equity=s.equity,
        trades=s.trades,
        bars=s.bars,
        initial_capital=s.initial_capital,
        risk_rejections=3,
        title="Backtest report: sample ORB <RELIANCE & INFY>",
        details=[("Strategy", "examples.orb:OpeningRangeBreakout"), ("Data", "5-minute bars")],
    )
    print(*files, sep="\n")
