"""The scanner's whole cycle over the NSE EQ list against a real ``quant sim``.

Starts the simulator in a child process with ~2,200 NSE equities (``extra_equities``),
rate limits on, and in this process:

* fills a temporary SQLite tick store with synthetic history anchored at the simulator's
  previous closes: day candles of the previous ``--history-days`` sessions and one-minute
  bars of the previous ``--volume-days`` sessions and of today up to the first cycle
  (NIFTY 50 too), as ``quant backfill`` and the feature engine leave them;
* prepares the day with the scanner's own :class:`quant.scanner.cycle.ScanCycle`
  (daily candles, liquidity filter, minute-volume profile: timed, once a day);
* runs ``--cycles`` cycles of ``ScanCycle.run`` plus what the service does with the picks,
  each timed by stage against the < 3 s goal:
  - quotes: full market quotes of every scanned name and NIFTY 50 through the
    rate-limited ``UpstoxRestClient`` (500 keys per request, its limiter and the
    simulator's),
  - history: today's one-minute bars stored since the previous cycle (5 per name,
    written between cycles as the feature engine would; the first cycle reads the
    morning's),
  - compute: the rest of the cycle (``ScanInputs``, signals, score, top N, reasons),
  - publish: the picks written to the ``scanner_suggestions`` table and published on
    ``scanner.suggestions`` (the in-process bus, or ``--kafka BOOTSTRAP``), flushed.

    python bench/bench_scanner_cycle.py [--names 2200] [--cycles 6] [--volume-days 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2026, 11, 24)
FIRST_CYCLE = dtime(11, 0)
GOAL_S = 3.0

SERVER = r"""
import asyncio, json, sys
from datetime import datetime
from quant.core.clock import IST
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.sim.universe import NIFTY50

async def main(port, names):
    cfg = SimConfig(port=port, speed=1.0, step_interval=1.0, ping_interval=10.0,
                    start=datetime(2026, 11, 24, 11, 0, tzinfo=IST),
                    extra_equities=max(names - len(NIFTY50), 0), rate_limits=True)
    async with SimServer(cfg) as sim:
        rows = [r for r in sim.market.u.rows
                if r["segment"] == "NSE_EQ" and r["instrument_type"] == "EQ"]
        print(json.dumps({"token": sim.mint_token("BENCH"), "base_url": sim.base_url,
                          "keys": [r["instrument_key"] for r in rows],
                          "symbols": [r["trading_symbol"] for r in rows]}), flush=True)
        await sim.serve_forever()

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""

INDEX = "NSE_INDEX|Nifty 50"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def previous_sessions(day: date, count: int) -> list[date]:
    from quant.sim.calendar import SIM_CALENDAR

    out: list[date] = []
    d = day
    while len(out) < count:
        d -= timedelta(days=1)
        if SIM_CALENDAR.is_trading_day(d):
            out.append(d)
    return out[::-1]


def minute_batch(
    keys: Sequence[str], open_ns: int, first: int, closes: np.ndarray, vols: np.ndarray
):  # type: ignore[no-untyped-def]
    """A CandleBatch of one-minute bars: ``closes``/``vols`` are (n, k) for minutes
    ``first .. first+k-1`` of the session opening at ``open_ns``."""
    from quant.store.tables import CandleBatch

    n, k = closes.shape
    c = np.round(closes * 100).astype(np.int64)
    o = np.concatenate([c[:, :1], c[:, :-1]], axis=1)
    spread = np.maximum(c // 1000, 5)
    ts = open_ns + (first + np.arange(k, dtype=np.int64)) * 60_000_000_000
    size = n * k
    return CandleBatch(
        ts=np.tile(ts, n),
        instrument_key=[key for key in keys for _ in range(k)],
        interval_seconds=np.full(size, 60, np.int64),
        open=o.ravel(),
        high=(np.maximum(o, c) + spread).ravel(),
        low=(np.minimum(o, c) - spread).ravel(),
        close=c.ravel(),
        volume=vols.astype(np.int64).ravel(),
        oi=np.zeros(size, np.int64),
        trade_count=np.zeros(size, np.int64),
    )


def day_batch(keys: Sequence[str], days: Sequence[date], closes: np.ndarray, vols: np.ndarray):  # type: ignore[no-untyped-def]
    from quant.scanner.history_inputs import ist_midnight_ns
    from quant.store.tables import CandleBatch

    n, d = closes.shape
    c = np.round(closes * 100).astype(np.int64)
    spread = np.maximum(c // 100, 5)
    ts = np.array([ist_midnight_ns(x) for x in days], np.int64)
    size = n * d
    return CandleBatch(
        ts=np.tile(ts, n),
        instrument_key=[key for key in keys for _ in range(d)],
        interval_seconds=np.full(size, 86400, np.int64),
        open=c.ravel(),
        high=(c + spread).ravel(),
        low=(c - spread).ravel(),
        close=c.ravel(),
        volume=vols.astype(np.int64).ravel(),
        oi=np.zeros(size, np.int64),
        trade_count=np.zeros(size, np.int64),
    )


class Synth:
    """Random-walk minute paths anchored at the simulator's prices (deterministic)."""

    def __init__(self, anchor: np.ndarray, seed: int = 11) -> None:
        self.anchor = anchor
        self.rng = np.random.default_rng(seed)
        self.volume = np.exp(self.rng.normal(8.0, 1.2, anchor.shape[0]))  # shares a minute

    def minutes(self, start: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        steps = self.rng.normal(0.0, 0.0008, (start.shape[0], k))
        closes = start[:, None] * np.exp(np.cumsum(steps, axis=1))
        vols = self.rng.poisson(self.volume[:, None], (start.shape[0], k)) + 1
        return closes, vols


def fill_store(store, keys, anchor, history_days, volume_days, today_minutes):  # type: ignore[no-untyped-def]
    """Day candles, previous sessions' and today's minute bars; returns the synth and
    today's last closes."""
    from quant.core.calendar import NSE_CALENDAR
    from quant.scanner.history_inputs import session_times

    syn = Synth(anchor)
    days = previous_sessions(DAY, max(history_days, volume_days))
    n = len(keys)
    drift = syn.rng.normal(0.0, 0.015, (n, len(days)))
    daily_close = anchor[:, None] * np.exp(np.cumsum(drift[:, ::-1], axis=1)[:, ::-1] - drift)
    store.write(day_batch(keys, days, daily_close, syn.volume[:, None] * 375 * np.ones(len(days))))
    for j, d in enumerate(days[-volume_days:] if volume_days else []):
        open_ns = session_times(NSE_CALENDAR, d).bounds_ns(d).open
        col = len(days) - len(days[-volume_days:]) + j
        closes, vols = syn.minutes(daily_close[:, col], 375)
        store.write(minute_batch(keys, open_ns, 0, closes, vols))
    open_ns = session_times(NSE_CALENDAR, DAY).bounds_ns(DAY).open
    closes, vols = syn.minutes(anchor, today_minutes)
    store.write(minute_batch(keys, open_ns, 0, closes, vols))
    return syn, closes[:, -1], open_ns


def at_ist(day: date, t: dtime) -> int:
    from quant.core.clock import IST, datetime_to_ns

    return datetime_to_ns(datetime.combine(day, t, tzinfo=IST))


class TimedQuotes:
    """The scanner's ``QuoteSource`` with the time spent in it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds = inner, 0.0

    async def quotes(self, keys: Sequence[str]) -> Any:
        t0 = time.perf_counter()
        try:
            return await self.inner.quotes(keys)
        finally:
            self.seconds += time.perf_counter() - t0


class TimedCandles:
    """The scanner's ``CandleReader`` with the time spent in it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds = inner, 0.0

    def candle_batch(self, keys: Sequence[str], start: int, end: int, interval: int = 60) -> Any:
        t0 = time.perf_counter()
        try:
            return self.inner.candle_batch(keys, start, end, interval)
        finally:
            self.seconds += time.perf_counter() - t0


def make_bus(kafka: str | None) -> Any:
    from quant.bus.topics import SUGGESTIONS

    if kafka:
        from quant.bus.kafka import KafkaBus
        from quant.bus.settings import KafkaSettings

        bus: Any = KafkaBus.from_settings(KafkaSettings(bootstrap_servers=kafka))
    else:
        from quant.bus.inprocess import InProcessBus

        bus = InProcessBus()
    bus.ensure_topics([SUGGESTIONS])
    return bus


async def run(args: argparse.Namespace, info: dict[str, Any]) -> dict[str, object]:
    from quant.bus.codecs import encode_suggestion
    from quant.bus.topics import SUGGESTIONS
    from quant.core.instruments import Instrument, InstrumentType
    from quant.scanner.adapters import StoreCandles, UpstoxQuotes
    from quant.scanner.cycle import ScanCycle
    from quant.scanner.settings import ScannerSettings
    from quant.scanner.universe import Candidates
    from quant.sim.calendar import SIM_CALENDAR
    from quant.store.columns import suggestion_batch
    from quant.store.sqlite_ticks import SqliteTickStore
    from quant.upstox.config import RestConfig
    from quant.upstox.rest import UpstoxRestClient

    tmp = tempfile.TemporaryDirectory(prefix="bench-scanner-")
    try:
        keys: list[str] = info["keys"]
        symbols: list[str] = info["symbols"]
        all_keys = [*keys, INDEX]
        config = RestConfig(api_base=info["base_url"], hft_base=info["base_url"])
        async with UpstoxRestClient(lambda: info["token"], config) as rest:
            first = await rest.full_quotes(all_keys)
            anchor = np.array([(first[k].last_price - first[k].net_change) / 100 for k in all_keys])
            store = SqliteTickStore(Path(tmp.name) / "ticks.sqlite").open()
            t0 = time.perf_counter()
            today_minutes = (FIRST_CYCLE.hour * 60 + FIRST_CYCLE.minute) - (9 * 60 + 15)
            syn, last_close, open_ns = fill_store(
                store, all_keys, anchor, args.history_days, args.volume_days, today_minutes
            )
            fill_s = time.perf_counter() - t0
            settings = ScannerSettings(
                history_days=args.history_days, volume_days=args.volume_days, top_n=args.top
            )
            instruments = [
                Instrument(k, sym, sym, "NSE", "NSE_EQ", InstrumentType.EQUITY)
                for k, sym in zip(keys, symbols, strict=True)
            ]
            quotes = TimedQuotes(UpstoxQuotes(rest))
            candles = TimedCandles(StoreCandles(store))
            cycle = ScanCycle(
                settings,
                candidates=Candidates(instruments, frozenset(), []),
                quotes=quotes,
                candles=candles,
                calendar=SIM_CALENDAR,
            )
            t0 = time.perf_counter()
            state = await cycle.prepare(DAY)
            load_s = time.perf_counter() - t0
            bus = make_bus(args.kafka)
            publisher = bus.publisher()
            stages: dict[str, list[float]] = {
                k: [] for k in ("quotes", "history", "compute", "publish", "cycle")
            }
            top5: list[str] = []
            minutes_done = today_minutes
            for c in range(args.cycles):
                at = at_ist(DAY, FIRST_CYCLE) + c * 300 * 1_000_000_000
                if c:  # the feature engine wrote the last 5 minutes' bars meanwhile
                    closes, vols = syn.minutes(last_close, 5)
                    last_close = closes[:, -1]
                    store.write(minute_batch(all_keys, open_ns, minutes_done, closes, vols))
                    minutes_done += 5
                quotes.seconds = candles.seconds = 0.0
                t_start = time.perf_counter()
                result = await cycle.run(at)
                t_ran = time.perf_counter()
                # what the service does with the picks (ScannerService._cycle)
                await asyncio.to_thread(store.write, suggestion_batch(result.picks))
                for pick in result.picks:
                    publisher.publish(
                        SUGGESTIONS.name, pick.instrument_key, encode_suggestion(pick)
                    )
                await asyncio.to_thread(publisher.flush)
                t_end = time.perf_counter()
                top5 = [p.trading_symbol for p in result.picks[:5]]
                run_s = t_ran - t_start
                for name, dt in (
                    ("quotes", quotes.seconds),
                    ("history", candles.seconds),
                    ("compute", run_s - quotes.seconds - candles.seconds),
                    ("publish", t_end - t_ran),
                    ("cycle", t_end - t_start),
                ):
                    stages[name].append(dt)
                print(
                    f"cycle {c + 1}: {result.quoted} quoted of {result.universe} scanned, "
                    f"{len(result.picks)} picks; "
                    + " ".join(f"{k} {v[-1] * 1000:.0f} ms" for k, v in stages.items()),
                    flush=True,
                )
            publisher.close()
            store.close()
        return {
            "names": len(keys),
            "scanned": len(state.keys),
            "fill_s": fill_s,
            "load_s": load_s,
            "stages": stages,
            "top5": top5,
            "bus": f"Kafka at {args.kafka}" if args.kafka else "the in-process bus",
        }
    finally:
        tmp.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=2200)
    parser.add_argument("--cycles", type=int, default=6)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--history-days", type=int, default=20)
    parser.add_argument("--volume-days", type=int, default=3)
    parser.add_argument(
        "--kafka",
        metavar="BOOTSTRAP|auto",
        help="publish through this Kafka (auto: a private broker started here)",
    )
    args = parser.parse_args()
    kafka_dir = tempfile.TemporaryDirectory(prefix="bench-scanner-kafka-")
    kafka: Any = None
    if args.kafka == "auto":
        from quant.devinfra.kafka import KafkaServer

        kafka = KafkaServer(Path(kafka_dir.name), die_with_parent=True)
        kafka.start()
        args.kafka = kafka.bootstrap
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'services'}"}
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(free_port()), str(args.names)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert child.stdout is not None
        out = asyncio.run(run(args, json.loads(child.stdout.readline())))
    finally:
        child.terminate()
        child.wait(10)
        if kafka is not None:
            kafka.stop()
        kafka_dir.cleanup()
    stages: dict[str, list[float]] = out["stages"]  # type: ignore[assignment]
    print()
    print(
        f"{out['names']} NSE EQ names ({out['scanned']} pass the liquidity filter); store "
        f"filled in {out['fill_s']:.1f} s; start of day (ScanCycle.prepare) "
        f"{out['load_s']:.2f} s, once a day; picks published through {out['bus']}"
    )
    print(f"{'stage':<9} {'first ms':>9} {'median ms':>10} {'max ms':>8}   (steady = cycles 2..)")
    for name, values in stages.items():
        steady = values[1:] or values
        print(
            f"{name:<9} {values[0] * 1000:>9.0f} {statistics.median(steady) * 1000:>10.0f} "
            f"{max(steady) * 1000:>8.0f}"
        )
    worst = max(stages["cycle"])
    print(
        f"whole cycle: worst {worst:.2f} s vs goal < {GOAL_S:.0f} s -> "
        f"{'met' if worst < GOAL_S else 'NOT met'}; top 5 at the last cycle: {out['top5']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
