"""Benchmark: native (``quant_wire``, Rust) vs Python (upb) vs SDK decode of V3 feed frames.

Decodes the same full-mode frames as ``bench/bench_decode.py`` (its ``build_frame``: 70%
equities with 5-level depth and 1d/I1/I30 OHLC, 25% options with greeks, 5% indices) three
ways in one run:

* native: :func:`quant.upstox.wire.decode_frame_native` -> ``Tick``/``OptionGreeks``;
* python: :func:`quant.upstox.wire.decode_frame_python` (upb) -> the same tuples;
* reference: upstox-python-sdk 2.30.0's path, ``FeedResponse.FromString`` on the SDK's
  generated module + ``json_format.MessageToDict``;

and the cost of the value checks (:mod:`quant.upstox.checks`, with the session window and
the subscribed keys as the feed client runs them) over the same decoder unchecked.

Timing is CPU time of this process (``time.process_time``), best of several runs. Prints
rates and ratios; ``--append`` adds a dated section to docs/benchmarks.md.
Run: ``python bench/bench_decode_native.py [--frames 200] [--per-frame 50] [--append]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from bench_decode import build_frame, run_sdk
from quant.upstox.checks import DEFAULT_BOUNDS, FeedChecks, TickBounds
from quant.upstox.wire import FeedFrame, decode_frame_native, decode_frame_python

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def run(
    decode: Callable[[bytes, int, TickBounds | None], FeedFrame],
    frames: list[bytes],
    bounds: TickBounds | None = DEFAULT_BOUNDS,
) -> tuple[float, int]:
    start = time.process_time()
    n = 0
    for data in frames:
        n += len(decode(data, 0, bounds).ticks)
    return time.process_time() - start, n


def full_bounds(frames: list[bytes]) -> TickBounds:
    """What the feed client checks: values, the session window and the subscribed keys."""
    ts_ns = decode_frame_python(frames[0], 0, None).ts_event
    known = {t.instrument_key for d in frames for t in decode_frame_python(d, 0, None).ticks}
    return FeedChecks().bounds(ts_ns, known)


def checks_cost(frames: list[bytes], repeat: int) -> list[str]:
    """CPU time of each decoder with the feed client's checks over the same without any."""
    bounds = full_bounds(frames)
    out = []
    for name, decode in (("native", decode_frame_native), ("python", decode_frame_python)):
        checked = min(run(decode, frames, bounds)[0] for _ in range(repeat))
        unchecked = min(run(decode, frames, None)[0] for _ in range(repeat))
        out.append(f"{name} checked/unchecked CPU time: {checked / unchecked:.2f}x")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--per-frame", type=int, default=50)
    parser.add_argument("--sdk-frames", type=int, default=40, help="frames timed on the SDK path")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per path (best kept)")
    parser.add_argument("--append", action="store_true", help="append results to docs")
    args = parser.parse_args()
    rng = random.Random(7)
    frames = [build_frame(rng, args.per_frame, 1_764_000_000_000 + i) for i in range(args.frames)]
    avg_bytes = sum(map(len, frames)) / len(frames)
    sdk_frames = frames[: args.sdk_frames]
    run(decode_frame_native, frames[:10])  # warm-up
    run(decode_frame_python, frames[:10])
    run_sdk(frames[:2])
    load_before = os.getloadavg()[0]
    best_native = min(run(decode_frame_native, frames)[0] for _ in range(args.repeat))
    best_python = min(run(decode_frame_python, frames)[0] for _ in range(args.repeat))
    best_sdk = min(run_sdk(sdk_frames)[0] for _ in range(2))
    load_after = os.getloadavg()[0]
    updates = args.frames * args.per_frame
    native_rate = updates / best_native
    python_rate = updates / best_python
    sdk_rate = len(sdk_frames) * args.per_frame / best_sdk
    lines = [
        f"frames: {args.frames} x {args.per_frame} instruments, {avg_bytes:,.0f} bytes/frame; "
        f"load average (1 min) {load_before:.1f} before / {load_after:.1f} after, "
        f"{os.cpu_count()} CPUs",
        f"native (quant_wire, Rust): {native_rate:,.0f} instrument-updates/s "
        f"({1e6 / native_rate:.2f} µs/update)",
        f"python (upb decode_frame_python): {python_rate:,.0f} instrument-updates/s",
        f"SDK (FeedResponse.FromString + MessageToDict): {sdk_rate:,.0f} instrument-updates/s",
        f"ratio native/SDK: {native_rate / sdk_rate:.1f}x (target ≥ 15x)",
        f"ratio native/python: {native_rate / python_rate:.1f}x",
        f"native one core: {native_rate:,.0f}/s (target ≥ 250,000/s)",
        *checks_cost(frames, args.repeat),
    ]
    for line in lines:
        print(line)
    if args.append:
        intro = (
            f"One core (process CPU time, best of {args.repeat}), Python "
            f"{platform.python_version()}; frames from `bench_decode.build_frame` (full mode: "
            "70% equities with 5-level depth and 1d/I1/I30 OHLC, 25% options with greeks, "
            "5% indices). Native = Rust extension `quant_wire` (hand-rolled protobuf reader "
            "building the NamedTuples directly); reference: upstox-python-sdk 2.30.0's decode "
            "path (`FeedResponse.FromString` + `MessageToDict`); same bytes, same run."
        )
        section = [
            "",
            "## 2026-11-24 — native V3 feed decoder (`bench/bench_decode_native.py`)",
            "",
            *textwrap.wrap(intro, 90, break_on_hyphens=False),
            "",
            *[f"- {line}" for line in lines],
            "",
        ]
        with DOCS.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(section))


if __name__ == "__main__":
    main()
