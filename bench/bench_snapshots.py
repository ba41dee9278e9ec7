"""Benchmark: feature-engine checkpoints, incremental snapshot files vs one whole file.

The feature engine runs over a steady synthetic stream (``--instruments`` names,
``--rate`` trades per second of exchange time, in 1 s batches) long enough for the 5-minute
rolling window to fill (``--minutes``), and takes a snapshot every ``--every`` seconds of
exchange time, as ``quant features`` does. Each snapshot is saved twice, side by side:

* ``FileSnapshotStore`` (``quant.features.snapshots``): the history levels' columns are
  pieces written once; a save writes the new pieces and the small main file;
* the reference: the whole snapshot written to one file, fsynced and renamed (what
  ``FileSnapshotStore`` did before pieces, and what any whole-blob store does).

Reports, over the checkpoints after the window is full, bytes written and wall time per
save (median, mean and max) and the ratio; record them in docs/benchmarks.md. Run:
``python bench/bench_snapshots.py [--minutes 7] [--rate 10000] [--every 5]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from quant.analytics.columns import TickColumns
from quant.analytics.engine import FeatureEngine
from quant.core.clock import FakeClock
from quant.features.adapters import AnalyticsEngine
from quant.features.ports import Parts, part_bytes
from quant.features.snapshots import FileSnapshotStore

T0 = 1_796_700_000_000_000_000  # 2026-12-08 08:50 IST
NS = 1_000_000_000


def batch(keys: list[str], second: int, rate: int, rng: np.random.Generator) -> TickColumns:
    """One second of exchange time: ``rate`` FULL ticks, each a trade, 5 depth levels."""
    n = rate
    codes = rng.integers(0, len(keys), n)
    ts = T0 + second * NS + np.sort(rng.integers(0, NS, n))
    px = 100_000 + codes * 10 + rng.integers(-50, 50, n)
    qty = 1 + rng.integers(0, 20, n)
    volume = np.zeros(n, dtype=np.int64)
    for c in np.unique(codes).tolist():  # cumulative day volume per instrument
        sel = np.flatnonzero(codes == c)
        volume[sel] = batch.volume.get(c, 0) + np.cumsum(qty[sel])
        batch.volume[c] = int(volume[sel][-1])
    depth = np.stack([px - 5 * (j + 1) for j in range(5)], axis=1)
    size = np.full((n, 5), 100, dtype=np.int64)
    return TickColumns(
        [keys[c] for c in codes.tolist()], ts, ts, px, ts, qty, volume,
        np.zeros(n, dtype=np.int64), depth, size, depth + 10 * np.arange(1, 6), size,
        np.ones(n, dtype=np.bool_),
    )  # fmt: skip


batch.volume = {}  # type: ignore[attr-defined]


def whole_file_save(path: Path, parts: Parts) -> int:
    """The reference: every part into one temporary file, fsync, rename."""
    tmp = path.with_name(path.name + ".tmp")
    size = 0
    with tmp.open("wb") as fh:
        for part in parts:
            data = part_bytes(part)
            fh.write(data)
            size += memoryview(data).nbytes
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=7.0)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--every", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(7)
    keys = [f"NSE_EQ|INE{i:06d}01018" for i in range(args.instruments)]
    clock = FakeClock(T0)
    engine = AnalyticsEngine(FeatureEngine(clock))
    window_s = 300
    root = Path(tempfile.mkdtemp(prefix="bench-snapshots-"))
    store = FileSnapshotStore(root / "incremental" / "features.snap")
    reference = root / "whole" / "features.snap"
    reference.parent.mkdir(parents=True)
    rows: list[tuple[int, int, float, int, float]] = []  # size, inc bytes, inc s, ref bytes, ref s
    seconds = int(args.minutes * 60)
    for second in range(seconds):
        engine.process(batch(keys, second, args.rate, rng))
        if (second + 1) % args.every:
            continue
        parts = engine.snapshot_later()()
        began = time.perf_counter()
        store.save(parts)
        inc_s = time.perf_counter() - began
        began = time.perf_counter()
        ref_bytes = whole_file_save(reference, parts)
        ref_s = time.perf_counter() - began
        if second >= window_s:  # the window is full: steady state
            rows.append((store.last_size, store.last_written, inc_s, ref_bytes, ref_s))
    same = store.load() == reference.read_bytes()
    shutil.rmtree(root)
    if not same:
        raise SystemExit("the incremental snapshot does not load back to the whole one")

    def med(i: int) -> float:
        return statistics.median(r[i] for r in rows)

    def avg(i: int) -> float:
        return statistics.fmean(r[i] for r in rows)

    def top(i: int) -> float:
        return max(r[i] for r in rows)

    mb = 1e6
    lines = [
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average at the end {os.getloadavg()[0]:.1f}",
        f"- stream: {args.instruments} instruments, {args.rate:,} trades/s of exchange time "
        f"for {seconds} s, a snapshot every {args.every} s; {len(rows)} snapshots after the "
        f"{window_s} s rolling window filled",
        f"- snapshot size: median {med(0) / mb:.1f} MB, max {top(0) / mb:.1f} MB",
        "",
        "| per snapshot | incremental (`FileSnapshotStore`) | whole file (reference) | ratio |",
        "|---|---:|---:|---:|",
        f"| bytes written, median | {med(1) / mb:.2f} MB | {med(3) / mb:.2f} MB | "
        f"{med(3) / max(med(1), 1):.1f}x less |",
        f"| bytes written, mean | {avg(1) / mb:.2f} MB | {avg(3) / mb:.2f} MB | "
        f"{avg(3) / max(avg(1), 1):.1f}x less |",
        f"| bytes written, max | {top(1) / mb:.2f} MB | {top(3) / mb:.2f} MB | |",
        f"| disk writes, mean | {avg(1) / args.every / mb:.1f} MB/s | "
        f"{avg(3) / args.every / mb:.1f} MB/s | |",
        f"| save wall time, median | {med(2) * 1e3:.1f} ms | {med(4) * 1e3:.1f} ms | "
        f"{med(4) / med(2):.1f}x faster |",
        f"| save wall time, max | {top(2) * 1e3:.1f} ms | {top(4) * 1e3:.1f} ms | |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
