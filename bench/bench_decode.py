"""Benchmark: decoding full-mode Upstox V3 feed frames into domain ticks vs the SDK's path.

Builds realistic recorded-style frames (many instruments per frame: equities with 5-level
depth and 1d/I1/I30 OHLC, options with greeks, a few indices), then decodes the same
bytes two ways in one run:

* ours: :func:`quant.upstox.wire.decode_frame` -> ``Tick``/``OptionGreeks`` NamedTuples;
* reference: upstox-python-sdk 2.30.0's own path, ``FeedResponse.FromString`` on the SDK's
  generated module followed by ``json_format.MessageToDict`` (what ``MarketDataStreamerV3``
  hands to user callbacks).

Timing is CPU time of this process (``time.process_time``), best of several runs, so other
work on the shared build machine inflates it less than wall time would. Prints rates and
the ratio; ``--append`` adds a dated section to docs/benchmarks.md.
Run: ``python bench/bench_decode.py [--frames 200] [--per-frame 50] [--append]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from pathlib import Path

from google.protobuf import json_format
from upstox_client.feeder.proto import MarketDataFeedV3_pb2 as sdk_pb

from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.upstox.wire import decode_frame

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def build_frame(rng: random.Random, per_frame: int, ts_ms: int) -> bytes:
    """One live_feed frame with ``per_frame`` instruments: 70% equity, 25% option, 5% index."""
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=ts_ms)
    for i in range(per_frame):
        r = i % 20
        if r == 0:
            key = f"NSE_INDEX|Index {i}"
            feed = msg.feeds[key]
            feed.requestMode = pb.full_d5
            iff = feed.fullFeed.indexFF
            px = round(rng.uniform(20000, 25000), 2)
            iff.ltpc.ltp = px
            iff.ltpc.ltt = ts_ms - 3
            iff.ltpc.cp = round(px * 0.99, 2)
            for interval in ("1d", "I1", "I30"):
                iff.marketOHLC.ohlc.add(
                    interval=interval, open=px - 10, high=px + 20, low=px - 30, close=px, ts=ts_ms
                )
            continue
        is_option = r >= 15
        key = f"NSE_FO|{40000 + i}" if is_option else f"NSE_EQ|INE{i:06d}01018"
        feed = msg.feeds[key]
        feed.requestMode = pb.full_d5
        mff = feed.fullFeed.marketFF
        px = round(rng.uniform(50, 3000) * 20) / 20
        mff.ltpc.ltp = px
        mff.ltpc.ltt = ts_ms - rng.randint(0, 500)
        mff.ltpc.ltq = rng.randint(1, 500)
        mff.ltpc.cp = round(px * 1.01 * 20) / 20
        for lvl in range(5):
            mff.marketLevel.bidAskQuote.add(
                bidQ=rng.randint(1, 5000),
                bidP=px - 0.05 * (lvl + 1),
                askQ=rng.randint(1, 5000),
                askP=px + 0.05 * (lvl + 1),
            )
        for interval in ("1d", "I1", "I30"):
            mff.marketOHLC.ohlc.add(
                interval=interval,
                open=px - 1.5,
                high=px + 2.25,
                low=px - 3.1,
                close=px,
                vol=rng.randint(1000, 10**7),
                ts=ts_ms - 60_000,
            )
        mff.atp = round(px * 0.998, 2)
        mff.vtt = rng.randint(10**4, 10**8)
        mff.tbq = float(rng.randint(10**4, 10**6))
        mff.tsq = float(rng.randint(10**4, 10**6))
        if is_option:
            mff.oi = float(rng.randint(10**3, 10**6))
            mff.iv = rng.uniform(0.1, 0.4)
            g = mff.optionGreeks
            g.delta = rng.uniform(-1, 1)
            g.theta = rng.uniform(-20, 0)
            g.gamma = rng.uniform(0, 0.01)
            g.vega = rng.uniform(0, 20)
            g.rho = rng.uniform(-5, 5)
    return msg.SerializeToString()


def run_ours(frames: list[bytes]) -> tuple[float, int]:
    start = time.process_time()
    n = 0
    for data in frames:
        n += len(decode_frame(data, 0).ticks)
    return time.process_time() - start, n


def run_floor(frames: list[bytes]) -> tuple[float, int]:
    """upb parse + read every field once into plain tuples: what any upb decoder pays."""
    parse = pb.FeedResponse.FromString
    start = time.process_time()
    n = 0
    for data in frames:
        for _key, feed in parse(data).feeds.items():
            full = feed.fullFeed
            if full.WhichOneof("FullFeedUnion") == "marketFF":
                m = full.marketFF
                lt = m.ltpc
                g = m.optionGreeks
                _ = (
                    (lt.ltp, lt.ltt, lt.ltq, lt.cp, m.atp, m.vtt, m.oi, m.iv, m.tbq, m.tsq),
                    [(q.bidP, q.bidQ, q.askP, q.askQ) for q in m.marketLevel.bidAskQuote],
                    [(c.interval, c.open, c.high, c.low, c.close, c.vol, c.ts)
                     for c in m.marketOHLC.ohlc],
                    (g.delta, g.theta, g.gamma, g.vega, g.rho),
                )  # fmt: skip
            else:
                i = full.indexFF
                _ = (i.ltpc.ltp, i.ltpc.cp, [(c.open, c.close) for c in i.marketOHLC.ohlc])
            n += 1
    return time.process_time() - start, n


def run_sdk(frames: list[bytes]) -> tuple[float, int]:
    parse = sdk_pb.FeedResponse.FromString
    to_dict = json_format.MessageToDict
    start = time.process_time()
    n = 0
    for data in frames:
        n += len(to_dict(parse(data))["feeds"])
    return time.process_time() - start, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--per-frame", type=int, default=50)
    parser.add_argument("--sdk-frames", type=int, default=40, help="frames timed on the SDK path")
    parser.add_argument("--append", action="store_true", help="append results to docs")
    parser.add_argument(
        "--only",
        choices=["none", "ours", "sdk", "floor"],
        help="run one path once, untimed (for instruction counts under valgrind cachegrind: "
        "subtract a --only none run)",
    )
    args = parser.parse_args()
    rng = random.Random(7)
    frames = [build_frame(rng, args.per_frame, 1_764_000_000_000 + i) for i in range(args.frames)]
    if args.only:
        paths = {"ours": run_ours, "sdk": run_sdk, "floor": run_floor}
        if args.only in paths:
            paths[args.only](frames)
        return
    avg_bytes = sum(map(len, frames)) / len(frames)
    run_ours(frames[:10])  # warm-up
    run_sdk(frames[:2])
    best_ours = min(run_ours(frames)[0] for _ in range(3))
    best_floor = min(run_floor(frames)[0] for _ in range(3))
    sdk_frames = frames[: args.sdk_frames]
    best_sdk = min(run_sdk(sdk_frames)[0] for _ in range(2))
    ours_rate = args.frames * args.per_frame / best_ours
    sdk_rate = len(sdk_frames) * args.per_frame / best_sdk
    ratio = ours_rate / sdk_rate
    floor_rate = args.frames * args.per_frame / best_floor
    load = os.getloadavg()[0]
    lines = [
        f"frames: {args.frames} x {args.per_frame} instruments, {avg_bytes:,.0f} bytes/frame; "
        f"machine load average during the run: {load:.1f} on {os.cpu_count()} CPUs",
        f"ours (decode_frame -> Tick/OptionGreeks): {ours_rate:,.0f} instrument-updates/s",
        f"SDK (FeedResponse.FromString + MessageToDict): {sdk_rate:,.0f} instrument-updates/s",
        f"ratio ours/SDK: {ratio:.1f}x",
        f"floor (upb parse + read every field into plain tuples, no domain objects): "
        f"{floor_rate:,.0f} instrument-updates/s",
    ]
    for line in lines:
        print(line)
    if args.append:
        section = [
            "",
            "## 2026-11-24 — Upstox V3 feed decode (`bench/bench_decode.py`)",
            "",
            f"One core (process CPU time), Python {platform.python_version()}, protobuf upb "
            "backend; full-mode "
            "frames (70% equities with 5-level depth and 1d/I1/I30 OHLC, 25% options with "
            "greeks, 5% indices). Reference: upstox-python-sdk 2.30.0's own decode path "
            "(`FeedResponse.FromString` + `MessageToDict`), same bytes, same run.",
            "",
            *[f"- {line}" for line in lines],
            "",
        ]
        with DOCS.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(section))


if __name__ == "__main__":
    main()
