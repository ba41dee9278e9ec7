"""Backfill throughput against ``quant sim``: 200 instruments, 3 months of 1-minute candles.

Starts the simulator in a child process (its own core: it builds and serialises every
candle), then runs :func:`quant.backfill.backfill` exactly as ``quant backfill`` does
(the rate-limited ``UpstoxRestClient``, 4 requests in flight, the embedded SQLite tick
store in a temporary folder) for 200 NSE_EQ instruments over 2026-09-01..2026-11-30: 600
requests of about 7,900 candles each. It reports candles written per second, and
requests per second held against the reference, the ceiling of Upstox's windows for that
many requests (:func:`quant.backfill.eta.ceiling_rate`: 50/s, 500/min, 2,000/30 min; for
600 requests the minute window binds: the 501st cannot start before 60 s, so at most
10 requests/s), with every HTTP status counted at the transport (no 429 allowed). The
simulator enforces the same three windows per client, so the same ceiling binds there.

A second job in the same run (``--mode both``, the default) isolates the limiter: the
same 600 requests, but the store already holds every trading day except the last of each
month (a resumed job), so each request carries one day (375 candles) and neither side's
CPU can be what binds.

    python bench/bench_backfill.py [--mode full|resumed|both] [--symbols 200]
        [--from 2026-09-01] [--to 2026-11-30] [--interval 1minute] [--in-flight 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services")]

from quant.backfill import BackfillProgress, HistoryRequest, backfill  # noqa: E402
from quant.backfill.eta import ceiling_rate, limit_seconds  # noqa: E402
from quant.backfill.plan import INTERVAL_SECONDS, day_start_ns, trading_days  # noqa: E402
from quant.core.clock import IST, datetime_to_ns  # noqa: E402
from quant.core.events import Candle  # noqa: E402
from quant.sim.calendar import SIM_CALENDAR  # noqa: E402
from quant.store.columns import candle_batch  # noqa: E402
from quant.store.sqlite_ticks import SqliteTickStore  # noqa: E402
from quant.upstox.config import RestConfig  # noqa: E402
from quant.upstox.rest import UpstoxRestClient  # noqa: E402

SERVER = r"""
import asyncio, json, sys
from datetime import datetime
from quant.core.clock import IST
from quant.sim.config import SimConfig
from quant.sim.server import SimServer

async def main(port, n):
    cfg = SimConfig(port=port, step_interval=1.0, ping_interval=None,
                    start=datetime(2026, 12, 8, 9, 14, tzinfo=IST))
    async with SimServer(cfg) as sim:
        keys = sorted(k for k in sim.state.universe.index_of if k.startswith("NSE_EQ|"))
        print(json.dumps(keys[:n]), flush=True)
        await sim.serve_forever()

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


OPEN_NS = (9 * 3600 + 15 * 60) * 1_000_000_000  # 09:15 after 00:00 IST


class ShiftedClock:
    """Wall time moved to 2026-12-08 18:00 IST at start (the simulator's day, closed)."""

    def __init__(self) -> None:
        target = datetime_to_ns(datetime(2026, 12, 8, 18, 0, tzinfo=IST))
        self._offset = target - time.time_ns()

    def now_ns(self) -> int:
        return time.time_ns() + self._offset


class CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.statuses: dict[int, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


async def run_job(
    port: int, keys: list[str], args: argparse.Namespace, *, resumed: bool, label: str
) -> None:
    request = HistoryRequest(keys, args.interval, args.start, args.end)
    transport = CountingTransport()
    config = RestConfig(api_base=f"http://127.0.0.1:{port}")
    last = [0.0]

    def show(p: BackfillProgress) -> None:
        if p.elapsed_s - last[0] >= 10 or p.requests_done == p.requests_total:
            last[0] = p.elapsed_s
            print(
                f"  {p.elapsed_s:5.1f} s: {p.requests_done}/{p.requests_total} requests, "
                f"{p.candles_written:,} candles",
                flush=True,
            )

    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        store = SqliteTickStore(Path(tmp) / "ticks.sqlite").open()
        if resumed:  # one stored candle on every trading day but each month's last
            days = trading_days(SIM_CALENDAR, args.start, args.end, normal_only=True)
            last_of_month = {max(d for d in days if (d.year, d.month) == ym) for ym in
                             {(d.year, d.month) for d in days}}  # fmt: skip
            held = [d for d in days if d not in last_of_month]
            store.write(candle_batch([
                Candle(k, INTERVAL_SECONDS[args.interval], day_start_ns(d) + OPEN_NS,
                       100, 100, 100, 100, 1)
                for k in keys for d in held
            ]))  # fmt: skip
        proc_cpu0, cpu0 = cpu_seconds(args.sim_pid), time.process_time()
        async with UpstoxRestClient(lambda: "", config, transport=transport) as client:
            report = await backfill(
                request,
                client=client,
                store=store,
                calendar=SIM_CALENDAR,
                clock=ShiftedClock(),
                progress=show,
                in_flight=args.in_flight,
            )
        cpu = time.process_time() - cpu0
        sim_cpu = cpu_seconds(args.sim_pid) - proc_cpu0
        store.close()
    n, wall = report.requests, report.elapsed_s
    ceiling = ceiling_rate(n)
    print(
        f"[{label}] {len(keys)} instruments, {args.interval} {args.start}..{args.end}, "
        f"{args.in_flight} in flight: {n} requests in {wall:.1f} s"
    )
    print(
        f"[{label}] requests/s: {n / wall:.2f} held vs the limits' ceiling {ceiling:.2f} for "
        f"{n} requests (the last may start at {limit_seconds(n):.0f} s): "
        f"{n / wall / ceiling:.2f} of it"
    )
    print(
        f"[{label}] candles written: {report.candles_written:,}, "
        f"{report.candles_written / wall:,.0f} candles/s; gaps {report.gaps}, "
        f"dropped {report.candles_dropped}, errors {len(report.errors)}"
    )
    print(
        f"[{label}] HTTP statuses: {dict(sorted(transport.statuses.items()))} "
        f"(429s: {transport.statuses.get(429, 0)}); CPU: backfill {cpu / wall:.2f} core, "
        f"simulator {sim_cpu / wall:.2f} core",
        flush=True,
    )


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("full", "resumed", "both"), default="both")
    ap.add_argument("--symbols", type=int, default=200)
    ap.add_argument("--from", dest="start", type=date.fromisoformat, default=date(2026, 9, 1))
    ap.add_argument("--to", dest="end", type=date.fromisoformat, default=date(2026, 11, 30))
    ap.add_argument("--interval", choices=("1minute", "day"), default="1minute")
    ap.add_argument("--in-flight", type=int, default=4)
    args = ap.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for mode in ("full", "resumed") if args.mode == "both" else (args.mode,):
        # a fresh simulator per job: its rate-limit windows start empty, as the client's
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVER, str(port), str(args.symbols),
            stdout=subprocess.PIPE, limit=1 << 24,
            env={"PYTHONPATH": str(ROOT / "services"), "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            keys = json.loads(await proc.stdout.readline())
            args.sim_pid = proc.pid
            await run_job(port, keys, args, resumed=mode == "resumed", label=mode)
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 10)


if __name__ == "__main__":
    asyncio.run(main())
