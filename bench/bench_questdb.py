"""Benchmark: QuestDB tick writes through the store adapter vs the raw ``questdb`` client.

Writes N full-mode ticks in batches (default 10,000 per HTTP request) four ways, in
alternating rounds of one run. Each batch of ticks is built just before it is written
(outside the timing), as in a service that writes what it has just consumed. Each path
writes to its own table with the same DDL (``quant.store.questdb_ticks.table_ddl``), WAL
+ DEDUP UPSERT KEYS:

* adapter: ``QuestDBTickStore.write`` of a ``TickBatch`` built before the timing, the
  form the feature service writes (its batches come from columns it already holds):
  ``frame`` -> ``Sender.dataframe`` -> flush; the same footing as the reference;
* adapter from ticks: the same write of the ``TickBatch`` built from the ``list[Tick]``
  inside the timing (``from_ticks`` -> ``tick_batch``), i.e. including the conversion
  from domain objects;
* raw dataframe: the ``questdb`` client's ``Sender.dataframe`` on DataFrames already built
  (outside the timing) + flush: the reference the issue names;
* raw from ticks: the same client path fed from the same ``list[Tick]`` the way a raw
  user would build the frame (``pd.DataFrame(ticks)``, best bid/ask from depth, ns
  timestamps), i.e. the same input as the adapter;
* raw rows: ``Sender.row`` per tick + flush (the client's other path), for context.

After one untimed warm-up batch per path, reports the median rows/s of each path, the
median of the per-round ratios to the reference (rounds pair the paths close in time,
which cancels most load drift on a shared machine) and the client CPU per row, then
waits until the WAL is applied and checks every table holds exactly the rows written.
Uses ``QUANT_QUESTDB__HOST`` / ``QUANT_QUESTDB__HTTP_PORT`` / ``QUANT_QUESTDB__PG_PORT``
if set, else starts QuestDB through ``quant.devinfra.servers``. ``--append`` adds a dated
section to docs/benchmarks.md.
Run: ``python bench/bench_questdb.py [--ticks 200000] [--batch 10000] [--rounds 3] [--append]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from questdb import Sender, TimestampNanos

from quant.analytics.columns import from_ticks
from quant.core.events import DepthLevel, FeedMode, FeedOhlc, Tick
from quant.store.columns import tick_batch
from quant.store.questdb_ticks import QuestDBTickStore, frame, table_ddl

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
T0 = 1_795_500_000_000_000_000
RAW_TABLES = ("ticks_raw_df", "ticks_raw_from_ticks", "ticks_raw_rows")


def make_ticks(n: int, t0: int, instruments: int = 500) -> list[Tick]:
    out = []
    for i in range(n):
        px = 100_000 + (i * 7919) % 50_000
        ts = t0 + i * 1000
        depth = tuple(
            DepthLevel(px - 5 * (k + 1), 100 + k, px + 5 * (k + 1), 90 + k) for k in range(5)
        )
        key = f"NSE_EQ|INE{i % instruments:06d}01018"
        day = (FeedOhlc("1d", px - 900, px + 1200, px - 1500, px, 1_000_000 + i, t0),)
        out.append(
            Tick(key, FeedMode.FULL, ts, ts + 350, px, ts - 20, 1 + i % 50, px - 300,
                 1_000_000 + i, px - 10, 0, 50_000 + i % 999, 60_000 + i % 777, depth, day)
        )  # fmt: skip
    return out


Batch = Callable[[int], list[Tick]]  # batch index -> ticks (built outside the timing)


class Clock:
    """Accumulates wall and CPU time of the timed sections only."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._t = self._c = 0.0

    def start(self) -> None:
        self._t, self._c = time.perf_counter(), time.process_time()

    def stop(self) -> None:
        self.wall += time.perf_counter() - self._t
        self.cpu += time.process_time() - self._c


def run_adapter(store: QuestDBTickStore, make: Batch, batches: int) -> Clock:
    clock = Clock()
    for i in range(batches):
        batch = tick_batch(from_ticks(make(i)))  # as the service holds it: columns
        clock.start()
        store.write(batch)
        clock.stop()
    return clock


def run_adapter_from_ticks(store: QuestDBTickStore, make: Batch, batches: int) -> Clock:
    clock = Clock()
    for i in range(batches):
        part = make(i)
        clock.start()
        store.write(tick_batch(from_ticks(part)))
        clock.stop()
    return clock


def run_raw_dataframe(conf: str, table: str, make: Batch, batches: int) -> Clock:
    clock = Clock()
    with Sender.from_conf(conf, auto_flush=False) as sender:
        for i in range(batches):
            df = frame(tick_batch(from_ticks(make(i))))  # the reference gets its frame free
            clock.start()
            sender.dataframe(df, table_name=table, symbols=["instrument_key"], at="ts")
            sender.flush()
            clock.stop()
    return clock


def natural_frame(ticks: list[Tick]) -> pd.DataFrame:
    """What a raw client user writes to turn ``list[Tick]`` into the ticks table's frame."""
    df = pd.DataFrame(ticks, columns=Tick._fields)
    best = df["depth"].str[0]
    for i, name in enumerate(("bid_price", "bid_quantity", "ask_price", "ask_quantity")):
        df[name] = best.str[i].fillna(0).astype("int64")
    df["mode"] = df["mode"].astype("int64")
    df["ts"] = pd.to_datetime(df.pop("ts_event"), unit="ns")
    df = df.drop(columns=["depth", "ohlc"]).rename(columns={"ltt_ns": "ltt"})
    # the client needs C-contiguous columns; frames built from records are not
    return pd.DataFrame({c: np.ascontiguousarray(df[c].to_numpy()) for c in df.columns})


def run_raw_from_ticks(conf: str, table: str, make: Batch, batches: int) -> Clock:
    clock = Clock()
    with Sender.from_conf(conf, auto_flush=False) as sender:
        for i in range(batches):
            part = make(i)
            clock.start()
            df = natural_frame(part)
            sender.dataframe(df, table_name=table, symbols=["instrument_key"], at="ts")
            sender.flush()
            clock.stop()
    return clock


def run_raw_rows(conf: str, table: str, make: Batch, batches: int) -> Clock:
    clock = Clock()
    with Sender.from_conf(conf, auto_flush=False) as sender:
        row = sender.row
        for i in range(batches):
            part = make(i)
            clock.start()
            for tk in part:
                b = tk.depth[0]
                row(
                    table,
                    symbols={"instrument_key": tk.instrument_key},
                    columns={
                        "mode": int(tk.mode),
                        "ltp": tk.ltp,
                        "ltt": tk.ltt_ns,
                        "ltq": tk.ltq,
                        "close_price": tk.close_price,
                        "volume": tk.volume,
                        "atp": tk.atp,
                        "oi": tk.oi,
                        "total_buy_quantity": tk.total_buy_quantity,
                        "total_sell_quantity": tk.total_sell_quantity,
                        "bid_price": b[0],
                        "bid_quantity": b[1],
                        "ask_price": b[2],
                        "ask_quantity": b[3],
                        "ts_init": tk.ts_init,
                    },
                    at=TimestampNanos(tk.ts_event),
                )
            sender.flush()
            clock.stop()
    return clock


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ticks", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--append", action="store_true", help="append results to docs/benchmarks.md")
    args = ap.parse_args()

    host = os.environ.get("QUANT_QUESTDB__HOST")
    server = tmp = None
    if host:
        http_port = int(os.environ.get("QUANT_QUESTDB__HTTP_PORT", "9000"))
        pg_port = int(os.environ.get("QUANT_QUESTDB__PG_PORT", "8812"))
    else:
        from quant.devinfra.servers import QuestDBServer, start_all

        tmp = tempfile.TemporaryDirectory(prefix="bench-questdb-")
        server = QuestDBServer(Path(tmp.name) / "questdb", die_with_parent=True)
        errors = start_all([server])
        if errors:
            raise SystemExit(f"cannot start QuestDB: {errors}")
        host, http_port, pg_port = server.host, server.http_port, server.pg_port
    conf = f"http::addr={host}:{http_port};"
    dsn = f"postgresql://admin:quest@{host}:{pg_port}/qdb"
    try:
        results = run(conf, dsn, args)
    finally:
        if server is not None:
            from quant.devinfra.servers import stop_all

            stop_all([server])
        if tmp is not None:
            tmp.cleanup()
    report(results, args)
    return 0


def run(conf: str, dsn: str, args: argparse.Namespace) -> dict[str, float]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("ticks", *RAW_TABLES):
            conn.execute(f"DROP TABLE IF EXISTS {table}".encode())
        for table in RAW_TABLES:
            conn.execute(table_ddl("ticks").replace(" ticks ", f" {table} ", 1).encode())
    store = QuestDBTickStore(ilp_conf=conf, pg_dsn=dsn).open()
    kinds = ("adapter", "adapter_ticks", "raw_df", "raw_ticks", "raw_rows")
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    n_batches = args.ticks // args.batch
    n = n_batches * args.batch

    def maker(t0: int) -> Batch:
        return lambda i: make_ticks(args.batch, t0 + i * args.batch * 1000)

    warm = maker(T0 - 10**15)  # first-write costs (table files, symbol maps, JIT)
    run_adapter(store, warm, 1)
    run_raw_dataframe(conf, "ticks_raw_df", warm, 1)
    run_raw_rows(conf, "ticks_raw_rows", warm, 1)
    run_raw_from_ticks(conf, "ticks_raw_from_ticks", warm, 1)
    for r in range(args.rounds):
        make = maker(T0 + r * 10**15)  # fresh timestamps per round
        order = (
            ["raw_df", "adapter", "adapter_ticks", "raw_ticks", "raw_rows"]
            if r % 2 == 0
            else ["adapter", "raw_df", "raw_rows", "raw_ticks", "adapter_ticks"]
        )
        for kind in order:
            if kind == "adapter":
                clock = run_adapter(store, make, n_batches)
            elif kind == "adapter_ticks":
                clock = run_adapter_from_ticks(store, make, n_batches)
            elif kind == "raw_df":
                clock = run_raw_dataframe(conf, "ticks_raw_df", make, n_batches)
            elif kind == "raw_ticks":
                clock = run_raw_from_ticks(conf, "ticks_raw_from_ticks", make, n_batches)
            else:
                clock = run_raw_rows(conf, "ticks_raw_rows", make, n_batches)
            rates[kind].append(n / clock.wall)
            cpu[kind].append(clock.cpu / n * 1e6)
        print(
            f"round {r + 1} (load {os.getloadavg()[0]:.1f}): adapter {rates['adapter'][-1]:,.0f}"
            f"  adapter from ticks {rates['adapter_ticks'][-1]:,.0f}"
            f"  raw dataframe {rates['raw_df'][-1]:,.0f}"
            f"  raw from ticks {rates['raw_ticks'][-1]:,.0f}"
            f"  raw rows {rates['raw_rows'][-1]:,.0f} rows/s",
            flush=True,
        )
    t = time.perf_counter()
    store.wait_visible(timeout=300)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in RAW_TABLES:
            while True:
                row = conn.execute(
                    "SELECT writerTxn, sequencerTxn FROM wal_tables() WHERE name = %s", (table,)
                ).fetchone()
                if row is not None and row[0] == row[1]:
                    break
                time.sleep(0.1)
        counts = {
            table: conn.execute(f"SELECT count() FROM {table}".encode()).fetchone()[0]  # type: ignore[index]
            for table in ("ticks", *RAW_TABLES)
        }
    apply_s = time.perf_counter() - t
    store.close()
    expected = n * args.rounds + args.batch
    for table, count in counts.items():
        if count != expected:
            raise SystemExit(f"{table} holds {count} rows, expected {expected}")
    print(f"all tables hold {expected:,} rows; WAL applied {apply_s:.1f}s after the last write")
    out = {k: statistics.median(v) for k, v in rates.items()}
    for k in ("adapter", "adapter_ticks", "raw_ticks", "raw_rows"):
        pairs = zip(rates[k], rates["raw_df"], strict=True)
        out[f"ratio_{k}"] = statistics.median(a / b for a, b in pairs)
    return out | {f"cpu_{k}": statistics.median(v) for k, v in cpu.items()} | {"apply_s": apply_s}


def report(r: dict[str, float], args: argparse.Namespace) -> None:
    lines = [
        f"{args.ticks:,} full-mode ticks per round in batches of {args.batch:,} (one ILP/HTTP "
        "request and flush each; each batch is built just before it is written and only the "
        "write is timed, as when a service writes what it has just consumed), "
        f"medians of {args.rounds} alternating rounds, each path to its "
        "own WAL table with DEDUP UPSERT KEYS(ts, instrument_key); row counts verified after "
        "the WAL was applied.",
        "",
        "| path | rows/s | vs raw dataframe | client CPU µs/row |",
        "|---|---:|---:|---:|",
        f"| raw `Sender.dataframe` on prebuilt DataFrames (reference) | {r['raw_df']:,.0f} "
        f"| 1.00x | {r['cpu_raw_df']:.2f} |",
        f"| `QuestDBTickStore.write(TickBatch)`, the batch built before (the service's form) "
        f"| {r['adapter']:,.0f} "
        f"| {r['ratio_adapter']:.2f}x | {r['cpu_adapter']:.2f} |",
        f"| `QuestDBTickStore.write(tick_batch(from_ticks(list[Tick])))` (incl. conversion) "
        f"| {r['adapter_ticks']:,.0f} "
        f"| {r['ratio_adapter_ticks']:.2f}x | {r['cpu_adapter_ticks']:.2f} |",
        f"| raw `Sender.dataframe` fed from the same `list[Tick]` via pandas "
        f"| {r['raw_ticks']:,.0f} | {r['ratio_raw_ticks']:.2f}x | {r['cpu_raw_ticks']:.2f} |",
        f"| raw `Sender.row` per tick (context) | {r['raw_rows']:,.0f} "
        f"| {r['ratio_raw_rows']:.2f}x | {r['cpu_raw_rows']:.2f} |",
        "",
        f"Load average during the run: {os.getloadavg()[0]:.1f} (2 cores, shared).",
    ]
    print("\n".join(lines))
    if args.append:
        head = (
            "\n## QuestDB tick store adapter vs raw questdb client "
            f"({time.strftime('%Y-%m-%d')})\n\n"
            "`python bench/bench_questdb.py` (QuestDB 9.3.4 on loopback, questdb client 6.0.0, "
            f"Python {platform.python_version()}).\n\n"
        )
        with DOCS.open("a", encoding="utf-8") as f:
            f.write(head + "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
