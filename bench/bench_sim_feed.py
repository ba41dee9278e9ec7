"""Feed capacity of the simulator: 2,000 instruments in ``full`` + 5,000 in ``ltpc``.

Starts the simulator in a child process (so its CPU time can be read from /proc), connects
two users (full needs the individual 2,000-key limit and ltpc the 5,000-key one, so each
category gets its own user, as Upstox's per-user limits require), steps the market once
a wall second (1 update/s per instrument) and reports, over the measuring window:

* server CPU seconds per wall second (the target is under one core), and
* instrument updates delivered per second per mode (measured by the clients).

Side by side in the same run it times the simulator's encoder (``frames.encode``: a
hand-rolled protobuf writer, each instrument's map entry serialised once per step and
shared by every connection) against the reference, ``encode_reference`` (the tests'
oracle, tests/unit/sim/frames_reference.py): the same entries built from protobuf message
objects (``pb.Feed(...)``, ``SerializeToString()``), for the same 2,000 full + 5,000 ltpc
instruments.

    python bench/bench_sim_feed.py [--seconds 20] [--speed 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]

SERVER = r"""
import asyncio, json, sys
from datetime import datetime
import numpy as np
from quant.core.clock import IST
from quant.sim.config import SimConfig
from quant.sim.server import SimServer

async def main(port, speed):
    cfg = SimConfig(port=port, speed=speed, step_interval=1.0, ping_interval=10.0,
                    start=datetime(2026, 11, 24, 9, 20, tzinfo=IST), rate_limits=False)
    async with SimServer(cfg) as sim:
        m = sim.market
        u = m.u
        tradable = np.nonzero(~m.is_index)[0]
        activity = u.adv[tradable] / np.maximum(u.lot[tradable], 1)
        order = tradable[np.argsort(-activity, kind="stable")]
        ltpc = [u.keys[i] for i in order[:5000].tolist()]
        full = [u.keys[i] for i in order[5000:7000].tolist()]
        print(json.dumps({"tokens": [sim.mint_token("BENCH1"), sim.mint_token("BENCH2")],
                          "full": full, "ltpc": ltpc}), flush=True)
        await sim.serve_forever()

asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
"""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def consume(
    url: str, mode: str, keys: list[str], counts: dict[str, int], stop: asyncio.Event
) -> None:
    from quant.pb.upstox.v3 import market_data_feed_pb2 as pb

    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()
        await ws.send(
            json.dumps(
                {"guid": "b", "method": "sub", "data": {"mode": mode, "instrumentKeys": keys}}
            ).encode()
        )
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            msg = pb.FeedResponse.FromString(raw)
            if msg.type == pb.live_feed:
                counts[mode] += len(msg.feeds)


async def authorize(base: str, token: str) -> str:
    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.get(
            "/v3/feed/market-data-feed/authorize", headers={"Authorization": f"Bearer {token}"}
        )
        r.raise_for_status()
        return str(r.json()["data"]["authorized_redirect_uri"])


def encoder_comparison(rounds: int = 5) -> tuple[float, float]:
    """(ours, reference) CPU seconds per step for 2,000 full + 5,000 ltpc on 2 connections."""
    from datetime import date, datetime

    import numpy as np

    sys.path.insert(0, str(ROOT / "tests" / "unit" / "sim"))
    from frames_reference import encode_reference

    from quant.core.clock import IST, FakeClock, datetime_to_ns
    from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
    from quant.sim import frames
    from quant.sim.config import SimConfig
    from quant.sim.market import Market
    from quant.sim.master import build_universe

    cfg = SimConfig()
    clock = FakeClock(datetime_to_ns(datetime(2026, 11, 24, 10, 0, tzinfo=IST)))
    m = Market(build_universe(cfg, date(2026, 11, 24)), clock, 7, cfg.calendar)
    tradable = np.nonzero(~m.is_index)[0]
    activity = m.u.adv[tradable] / np.maximum(m.u.lot[tradable], 1)
    order = tradable[np.argsort(-activity, kind="stable")]
    ltpc, full = order[:5000], order[5000:7000]
    ours = ref = 0.0
    for _ in range(rounds):
        clock.advance(1.0)
        m.step()
        t0 = time.process_time()
        for rows, mode in ((full, "full"), (ltpc, "ltpc")):
            frames.frame(pb.live_feed, frames.encode(m, rows, mode), 0)
        t1 = time.process_time()
        for rows, mode in ((full, "full"), (ltpc, "ltpc")):
            frames.frame(pb.live_feed, encode_reference(m, rows, mode), 0)
        t2 = time.process_time()
        ours += t1 - t0
        ref += t2 - t1
    return ours / rounds, ref / rounds


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=6.0)
    ap.add_argument("--speed", type=float, default=120.0)
    args = ap.parse_args()
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVER,
        str(port),
        str(args.speed),
        stdout=subprocess.PIPE,
        limit=1 << 24,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(await proc.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        urls = [await authorize(base, t) for t in info["tokens"]]
        counts = {"full": 0, "ltpc": 0}
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(consume(urls[0], "full", info["full"], counts, stop))
            tg.create_task(consume(urls[1], "ltpc", info["ltpc"], counts, stop))
            await asyncio.sleep(args.warmup)
            c0, w0, n0 = cpu_seconds(proc.pid), time.monotonic(), dict(counts)
            await asyncio.sleep(args.seconds)
            c1, w1, n1 = cpu_seconds(proc.pid), time.monotonic(), dict(counts)
            stop.set()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
    wall = w1 - w0
    print(
        f"server CPU: {(c1 - c0) / wall:.3f} cores over {wall:.1f} s "
        f"(speed {args.speed:g}, 1 market step per wall second)"
    )
    for mode, n in (("full", 2000), ("ltpc", 5000)):
        rate = (n1[mode] - n0[mode]) / wall
        print(
            f"{mode}: {rate:,.0f} instrument updates/s delivered for {n} keys "
            f"({rate / n:.2f} per key per s)"
        )
    ours, ref = encoder_comparison()
    print(
        f"encoder per step (2,000 full + 5,000 ltpc): shared entries {ours * 1e3:.1f} ms, "
        f"reference protobuf objects {ref * 1e3:.1f} ms, ratio {ref / ours:.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
