"""Feature-engine throughput on one core: ticks per second, end to end and per stage.

Generates a deterministic interleaved stream (``--instruments`` names, 5 depth levels, or
30 with ``--levels 30``), then times ``FeatureEngine.process`` over batches of
``--batch`` ticks: the feature service's own path (protobuf bus bytes decoded natively into
columns, the columnar core, EnrichedTicks encoded natively from the columns), the tuple API
``FeatureEngine.process`` (Tick tuples in, EnrichedTick tuples out), and separately the
columnar core ``process_columns`` and the tuple<->column conversions. Prints a Markdown
table; best of ``--repeat`` runs, in CPU seconds of this process (``time.process_time``,
pinned to one core) so that other load on a shared machine inflates the figures less. Usage::

    python bench/bench_features.py [--ticks 200000] [--batch 10000] [--levels 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import time

import numpy as np

from quant.analytics.columns import from_ticks, to_enriched
from quant.analytics.engine import FeatureEngine
from quant.bus.codec_marketdata import encode_tick
from quant.core.clock import FakeClock
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.features.codec_columns import decode_tick_columns, encode_enriched_columns

BASE_NS = 1_795_000_000_000_000_000


def make_ticks(n: int, instruments: int, levels: int, seed: int = 1) -> list[Tick]:
    rng = random.Random(seed)
    keys = [f"NSE_EQ|INE{i:06d}" for i in range(instruments)]
    price = dict.fromkeys(keys, 250_000)
    volume = dict.fromkeys(keys, 1_000)
    ts = BASE_NS
    out = []
    mode = FeedMode.FULL if levels <= 5 else FeedMode.FULL_D30
    for _ in range(n):
        key = keys[int(rng.paretovariate(1.2)) % instruments]  # a few names dominate
        ts += rng.randint(1, 200_000)  # ~10k ticks/s of exchange time
        if rng.random() < 0.6:
            price[key] += rng.choice((-10, -5, 0, 5, 10))
            volume[key] += rng.randint(1, 300)
        p = price[key]
        depth = tuple(
            DepthLevel(p - 5 * (j + 1), rng.randint(1, 999), p + 5 * (j + 1), rng.randint(1, 999))
            for j in range(levels)
        )
        out.append(Tick(key, mode, ts, ts + 500, p, ts, 1, 0, volume[key], depth=depth))
    return out


def _best(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()  # type: ignore[operator]
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--instruments", type=int, default=200)
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    ticks = make_ticks(args.ticks, args.instruments, args.levels)
    batches = [ticks[i : i + args.batch] for i in range(0, len(ticks), args.batch)]
    columns = [from_ticks(b) for b in batches]
    # A streaming service holds only the batch in flight; here every input tick stays alive
    # for the whole run, which would make the cyclic GC re-traverse millions of objects.
    # Freeze the pre-generated inputs so the timing sees the GC cost a service would.
    gc.collect()
    gc.freeze()

    def end_to_end() -> None:
        engine = FeatureEngine(FakeClock())
        for b in batches:
            engine.process(b)
        engine.flush()

    def core() -> None:
        engine = FeatureEngine(FakeClock())
        for c in columns:
            engine.process_columns(c)

    messages = [[encode_tick(t) for t in b] for b in batches]

    def service_path() -> None:
        # what the feature service runs per batch: bus bytes in, encoded EnrichedTicks out
        engine = FeatureEngine(FakeClock())
        for m in messages:
            cols, _ = decode_tick_columns(m)
            features, _ = engine.process_columns(cols)
            encode_enriched_columns(cols, features, 0)

    def convert_in() -> None:
        for b in batches:
            from_ticks(b)

    engine = FeatureEngine(FakeClock())
    features = [engine.process_columns(c)[0] for c in columns]

    def convert_out() -> None:
        for c, f in zip(columns, features, strict=True):
            to_enriched(c, f, 0)

    n = len(ticks)
    rows = [
        (
            "bus bytes -> columns -> engine -> EnrichedTick bytes (the service)",
            _best(service_path, args.repeat),
        ),
        ("process(ticks) end to end", _best(end_to_end, args.repeat)),
        ("process_columns (numpy core)", _best(core, args.repeat)),
        ("Tick tuples -> columns", _best(convert_in, args.repeat)),
        ("columns -> EnrichedTick tuples", _best(convert_out, args.repeat)),
    ]
    print(
        f"# feature engine: {n} ticks, {args.instruments} instruments, batch {args.batch}, "
        f"{args.levels} depth levels; Python {platform.python_version()}, numpy {np.__version__}, "
        f"load avg {os.getloadavg()[0]:.1f}"
    )
    print("| stage | seconds | ticks/s |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {n / seconds:,.0f} |")


if __name__ == "__main__":
    main()
