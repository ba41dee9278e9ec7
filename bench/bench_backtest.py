"""Backtest throughput: bars (a year of 1-minute candles, 50 symbols) and ticks (events/s on one
core, side by side with NautilusTrader's BacktestEngine on the same ticks).

    PYTHONPATH=services python bench/bench_backtest.py            # both parts
    PYTHONPATH=services python bench/bench_backtest.py --part ticks --symbols 10 --days 2

**Bars**: ``--bar-symbols`` symbols x ``--bar-days`` trading days x 375 one-minute candles
(a seeded random walk), generated in memory behind the replay's reader port (the same
``candles`` call the SQLite / QuestDB stores answer), replayed by ``Backtest`` (synthetic
book at each close, the execution engine, the paper broker, charges) with a moving-average
cross on 5-minute bars over every symbol. Prints the seconds and candles/s.

**Ticks**: ``--symbols`` x ``--days`` sessions of one tick per second per symbol (LTP a
seeded random walk on a 5-paise grid, best bid / ask at LTP -/+ 5 paise), written to one
CSV file (``ts_ns,symbol,bid,ask,bid_qty,ask_qty,ltp,volume``). Ours: the ticks read from
it, then replayed through the feature engine, the host (1-minute bars built from the ticks,
the MA cross: fast 10 / slow 30 closes, 1 unit, long only), the execution engine and the
paper broker. NautilusTrader 1.221.0 (``bench/bench_backtest_nautilus.py``, run with
``--nautilus-python``, a separate venv) loads the same file as ``QuoteTick``s and runs its
``BacktestEngine`` with the equivalent strategy (1-minute MID bars: the mid is the LTP
here, SMA 10 / 30, market orders, netting). Both time the run only (loading excluded) and
count one event per tick. ``--profile`` prints where our time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import csv
import io
import json
import pstats
import random
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from pydantic import Field

from quant.backtest.config import BacktestConfig
from quant.backtest.replay import Backtest, ist_day_bounds
from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns
from quant.core.events import Candle, DepthLevel, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import Side
from quant.trading.strategy import Strategy, StrategyContext, StrategyParams

NAUTILUS_SCRIPT = Path(__file__).with_name("bench_backtest_nautilus.py")
DEFAULT_NAUTILUS_PYTHON = "/work/bench-venv-nautilus/bin/python"


class MultiMaParams(StrategyParams):
    bar_minutes: int = Field(1, ge=1)
    fast: int = 10
    slow: int = 30
    quantity: int = 1


class MultiMaCross(Strategy[MultiMaParams]):
    """The MA cross of docs/strategies.md over every instrument fed (long only)."""

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.subscribe_bars(self.params.bar_minutes)
        self.closes: dict[str, deque[int]] = {}
        self.was_above: dict[str, bool] = {}

    def on_bar(self, ctx: StrategyContext, bar: Candle) -> None:
        p, key = self.params, bar.instrument_key
        closes = self.closes.get(key)
        if closes is None:
            closes = self.closes[key] = deque(maxlen=p.slow)
        closes.append(bar.close)
        if len(closes) < p.slow:
            return
        fast = sum(list(closes)[-p.fast :]) / p.fast
        slow = sum(closes) / p.slow
        above = fast > slow
        was = self.was_above.get(key)
        self.was_above[key] = above
        if was is None or above == was or ctx.open_orders(key):
            return
        held = ctx.position(key).net_quantity
        if above and held == 0:
            ctx.market(key, Side.BUY, p.quantity)
        elif not above and held > 0:
            ctx.close_position(key)


def instruments(n: int) -> dict[str, Instrument]:
    out = {}
    for i in range(n):
        key = f"NSE_EQ|INE{i:06d}01"
        out[key] = Instrument(
            key, f"SYM{i:02d}", f"SYMBOL {i}", "NSE", "NSE_EQ", InstrumentType.EQUITY
        )
    return out


def trading_days(first: date, n: int) -> list[date]:
    days: list[date] = []
    d = first
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def session_open_ns(day: date) -> int:
    return datetime_to_ns(datetime(day.year, day.month, day.day, 9, 15, tzinfo=IST))


# --- bars ---------------------------------------------------------------------------------


class CandleMemory:
    """Generated 1-minute candles per (instrument, IST day), behind ``candles``."""

    def __init__(self, keys: Sequence[str], days: Sequence[date], seed: int = 1) -> None:
        rng = random.Random(seed)
        self._by_day: dict[tuple[str, int], list[Candle]] = {}
        for key in keys:
            price = rng.randrange(50_000, 300_000, 5)
            for day in days:
                t0 = session_open_ns(day)
                out = []
                for m in range(375):
                    o = price
                    price = max(500, price + 5 * rng.randint(-12, 12))
                    hi, lo = max(o, price) + 5, min(o, price) - 5
                    out.append(Candle(key, 60, t0 + m * 60 * NS_PER_SECOND, o, hi, lo, price, 1000))
                self._by_day[(key, ist_day_bounds(day)[0])] = out

    def candles(
        self, instrument_key: str, start_ns: int, end_ns: int, interval_seconds: int = 60
    ) -> list[Candle]:
        return list(self._by_day.get((instrument_key, start_ns), ()))

    def ticks_between(self, keys: Sequence[str], start_ns: int, end_ns: int) -> list[Tick]:
        return []


def bench_bars(n_symbols: int, n_days: int) -> dict[str, float]:
    insts = instruments(n_symbols)
    days = trading_days(date(2025, 12, 1), n_days)
    t0 = time.perf_counter()
    reader = CandleMemory(list(insts), days)
    generated = time.perf_counter() - t0
    bt = Backtest(
        MultiMaCross(), {"bar_minutes": 5, "fast": 10, "slow": 30}, insts, BacktestConfig()
    )
    t0, c0 = time.perf_counter(), time.process_time()
    result = asyncio.run(bt.run(reader, days[0], days[-1]))
    run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return {
        "candles": result.events,
        "days": result.days,
        "generate_s": generated,
        "run_s": run_s,
        "candles_per_s": result.events / run_s,
        "cpu_s": cpu_s,
        "trades": len(result.trades),
        "orders": result.intents,
    }


# --- ticks --------------------------------------------------------------------------------


def write_tick_file(path: Path, n_symbols: int, n_days: int, seconds: int, seed: int = 7) -> int:
    """One tick per second per symbol, staggered within the second; returns the count."""
    rng = random.Random(seed)
    keys = list(instruments(n_symbols))
    prices = [rng.randrange(50_000, 300_000, 5) for _ in keys]
    volumes = [0] * n_symbols
    n = 0
    step = NS_PER_SECOND // n_symbols
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("ts_ns", "symbol", "bid", "ask", "bid_qty", "ask_qty", "ltp", "volume"))
        for day in trading_days(date(2025, 12, 1), n_days):
            t0 = session_open_ns(day)
            for s in range(seconds):
                base = t0 + s * NS_PER_SECOND
                for i, key in enumerate(keys):
                    prices[i] = max(500, prices[i] + 5 * rng.randint(-2, 2))
                    volumes[i] += 10
                    p = prices[i]
                    w.writerow((base + i * step, key, p - 5, p + 5, 500, 500, p, volumes[i]))
                    n += 1
    return n


def read_tick_file(path: Path) -> list[Tick]:
    out = []
    with path.open(newline="") as f:
        rows = csv.reader(f)
        next(rows)
        for ts, key, bid, ask, bq, aq, ltp, vol in rows:
            t = int(ts)
            out.append(
                Tick(key, FeedMode.FULL, t, t, int(ltp), t, 10, 0, int(vol), 0, 0, 0, 0,
                     (DepthLevel(int(bid), int(bq), int(ask), int(aq)),))
            )  # fmt: skip
    return out


class TickMemory:
    """Ticks in memory, behind ``ticks_between`` (ordered by time, then key)."""

    def __init__(self, ticks: list[Tick]) -> None:
        self._ticks = ticks
        self._ts = [t.ts_event for t in ticks]

    def candles(
        self, instrument_key: str, start_ns: int, end_ns: int, interval_seconds: int = 60
    ) -> list[Candle]:
        return []

    def ticks_between(self, keys: Sequence[str], start_ns: int, end_ns: int) -> list[Tick]:
        from bisect import bisect_left

        lo, hi = bisect_left(self._ts, start_ns), bisect_left(self._ts, end_ns)
        return self._ticks[lo:hi]


def bench_ticks_ours(path: Path, n_symbols: int, profile: bool) -> dict[str, float]:
    t0 = time.perf_counter()
    ticks = read_tick_file(path)
    load_s = time.perf_counter() - t0
    reader = TickMemory(ticks)
    insts = instruments(n_symbols)
    bt = Backtest(
        MultiMaCross(),
        {"bar_minutes": 1, "fast": 10, "slow": 30},
        insts,
        BacktestConfig(data="ticks"),
    )
    first = datetime.fromtimestamp(ticks[0].ts_event / 1e9, IST).date()
    last = datetime.fromtimestamp(ticks[-1].ts_event / 1e9, IST).date()
    prof = cProfile.Profile() if profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    result = asyncio.run(bt.run(reader, first, last))
    if prof:
        prof.disable()
    run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
        print(buf.getvalue(), file=sys.stderr)
    return {
        "events": result.events,
        "load_s": load_s,
        "run_s": run_s,
        "events_per_s": result.events / run_s,
        "cpu_events_per_s": result.events / cpu_s,
        "trades": len(result.trades),
        "fills": len(result.fills),
    }


def bench_ticks_nautilus(python: str, path: Path, n_symbols: int) -> dict[str, float] | str:
    if not Path(python).exists():
        return f"no NautilusTrader venv at {python} (see bench/bench_backtest_nautilus.py)"
    proc = subprocess.run(
        [python, str(NAUTILUS_SCRIPT), str(path), str(n_symbols)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        return f"NautilusTrader run failed: {proc.stderr.strip()[-800:]}"
    out: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("bars", "ticks", "both"), default="both")
    ap.add_argument("--bar-symbols", type=int, default=50)
    ap.add_argument("--bar-days", type=int, default=250)
    ap.add_argument("--symbols", type=int, default=10)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=22_500, help="ticks per symbol per day")
    ap.add_argument("--nautilus-python", default=DEFAULT_NAUTILUS_PYTHON)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    if args.part in ("bars", "both"):
        b = bench_bars(args.bar_symbols, args.bar_days)
        print(
            f"bars: {args.bar_symbols} symbols x {b['days']} days = {b['candles']:,} candles "
            f"in {b['run_s']:.1f} s wall, {b['cpu_s']:.1f} s CPU ({b['candles_per_s']:,.0f} "
            f"candles/s wall; generating them {b['generate_s']:.1f} s more), {b['orders']} "
            f"orders, {b['trades']} trades"
        )
    if args.part in ("ticks", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ticks.csv"
            n = write_tick_file(path, args.symbols, args.days, args.seconds)
            print(f"ticks: {n:,} ticks ({args.symbols} symbols x {args.days} days) in {path.name}")
            ours = bench_ticks_ours(path, args.symbols, args.profile)
            theirs = bench_ticks_nautilus(args.nautilus_python, path, args.symbols)
        print(
            f"  quant backtest (features + MA cross + paper broker): "
            f"{ours['events_per_s']:>10,.0f} events/s  ({ours['cpu_events_per_s']:,.0f} per CPU "
            f"s; {ours['events']:,} in {ours['run_s']:.2f} s; {ours['fills']} fills)"
        )
        if isinstance(theirs, str):
            print(f"  NautilusTrader 1.221.0 BacktestEngine: {theirs}")
        else:
            print(
                f"  NautilusTrader 1.221.0 BacktestEngine:             "
                f"{theirs['events_per_s']:>10,.0f} events/s  ({theirs['cpu_events_per_s']:,.0f} "
                f"per CPU s; {theirs['events']:,} in {theirs['run_s']:.2f} s; "
                f"{theirs['fills']} fills)"
            )
            wall = ours["events_per_s"] / theirs["events_per_s"]
            cpu = ours["cpu_events_per_s"] / theirs["cpu_events_per_s"]
            print(f"  ratio ours / Nautilus: {wall:.2f}x wall, {cpu:.2f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
