"""Benchmark: quote latency of ``quant up`` with and without 100 instrument searches/s.

Starts the one-process platform (``quant.up.platform.run_platform``: simulator, ingestor,
feature engine, gateway, all on one event loop) in a child process, from the source tree
given by ``--code`` (default: this checkout), so the same script measures another tree
side by side (e.g. a worktree of main). Then, from this process:

1. phase ``idle``: quotes only, ``--quote-rate`` requests/s, one at a time, for
   ``--seconds``;
2. phase ``search``: the same quotes while an open-loop generator sends ``--search-rate``
   instrument searches/s (a mix of symbol prefixes, names, ISINs, keys and misses; at most
   ``--max-inflight`` outstanding, the rest counted as not sent).

Prints quote p50/p99/max per phase and their ratio (search / idle), the searches sent,
answered and their p50/p99, and the embedded pipeline's rate (``features_ticks_total``
from ``/metrics``) per phase. ``--rounds N`` alternates the phases N times.
Run: ``python bench/bench_gateway_load.py [--code DIR] [--seconds 20] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import asyncio, signal, sys
from pathlib import Path
from quant.up.platform import run_platform
from quant.up.settings import UpSettings

settings = UpSettings(data_dir=Path(sys.argv[1]), gateway={"port": 0}, log_level="WARNING")

async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    def announce(url, *_):
        print("URL " + url, flush=True)
    await run_platform(settings, stop, announce, handle_signals=False)

asyncio.run(main())
"""

SEARCHES = [
    "REL", "reliance", "NIFTY", "nifty 50", "NIFTY 25", "BANK", "hdfc", "INFY", "TCS",
    "SBIN", "ITC", "LT", "AXIS", "ICICI", "BHARTI", "INE002A01018", "NSE_EQ|INE467B01029",
    "26 DEC", "CE", "PE", "FUT", "LTD", "INDUSTRIES", "SENSEX", "VIX", "ZZZQ", "Q", "A",
    "NIFTY BANK", "BANKNIFTY", "FINANCE", "MOTORS", "25000", "NSE_FO|", "bse",
]  # fmt: skip


class Http:
    """A minimal keep-alive HTTP/1.1 client (GET only): the load generator must cost the
    machine far less than the server it loads (httpx spends ~1 ms of CPU per request)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> tuple[int, bytes]:
        return await asyncio.wait_for(self._get(path), 60)

    async def _get(self, path: str) -> tuple[int, bytes]:
        while True:
            reused = bool(self.idle)
            if reused:
                reader, writer = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
            except (OSError, asyncio.IncompleteReadError):
                writer.close()
                if reused:  # the server closed an idle keep-alive connection: a new one
                    continue
                raise
            except BaseException:
                writer.close()
                raise
            break
        try:
            status = int(head.split(b" ", 2)[1])
            m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            body = await reader.readexactly(int(m.group(1))) if m else b""
        except BaseException:
            writer.close()
            raise
        self.idle.append((reader, writer))
        return status, body

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quote_path(symbol: str) -> str:
    return "/api/v1/market/quote/" + quote(symbol, safe="")


def search_path(query: str) -> str:
    return "/api/v1/instruments/search?" + urlencode({"query": query, "limit": 20})


@dataclass
class Phase:
    name: str
    quotes_ms: list[float] = field(default_factory=list)
    quote_errors: int = 0
    searches_ms: list[float] = field(default_factory=list)
    searches_sent: int = 0
    searches_dropped: int = 0
    search_errors: int = 0
    pipeline_ticks_s: float = 0.0
    seconds: float = 0.0
    server_cpu: float = 0.0  # cores used by the quant up process


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def features_ticks(client: Http) -> float:
    text = (await client.get("/metrics"))[1].decode()
    m = re.search(r"^features_ticks_total\s+(\S+)", text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


async def pick_quote_symbol(client: Http, deadline_s: float) -> str:
    end = time.monotonic() + deadline_s
    while True:
        for symbol in ("RELIANCE", "HDFCBANK", "INFY", "TCS", "NIFTY 50"):
            status, _ = await client.get(quote_path(symbol))
            if status == 200:
                return symbol
        if time.monotonic() > end:
            raise SystemExit("no quote became available")
        await asyncio.sleep(0.5)


async def quote_loop(client: Http, symbol: str, rate: float, seconds: float, phase: Phase) -> None:
    period = 1 / rate
    path = quote_path(symbol)
    start = time.perf_counter()
    n = 0
    while True:
        due = start + n * period
        now = time.perf_counter()
        if now - start >= seconds:
            break
        if due > now:
            await asyncio.sleep(due - now)
        t0 = time.perf_counter()
        try:
            ok = (await client.get(path))[0] == 200
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            ok = False
        if ok:
            phase.quotes_ms.append((time.perf_counter() - t0) * 1000)
        else:
            phase.quote_errors += 1
        n += 1


async def search_load(
    client: Http, rate: float, seconds: float, max_inflight: int, phase: Phase
) -> None:
    inflight: set[asyncio.Task[None]] = set()

    async def one(query: str) -> None:
        t0 = time.perf_counter()
        try:
            status, _ = await client.get(search_path(query))
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            status = 0
        if status == 200:
            phase.searches_ms.append((time.perf_counter() - t0) * 1000)
        else:
            phase.search_errors += 1

    period = 1 / rate
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < seconds:
        due = start + n * period
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(inflight) >= max_inflight:
            phase.searches_dropped += 1
        else:
            task = asyncio.create_task(one(SEARCHES[n % len(SEARCHES)]))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
            phase.searches_sent += 1
        n += 1
    if inflight:
        await asyncio.wait(inflight, timeout=60)


async def run_phase(
    client: Http, symbol: str, name: str, args: argparse.Namespace, pid: int, quotes: Http
) -> Phase:
    phase = Phase(name)
    before, t0, cpu0 = await features_ticks(client), time.perf_counter(), cpu_seconds(pid)
    jobs = [quote_loop(quotes, symbol, args.quote_rate, args.seconds, phase)]
    if name == "search":
        jobs.append(search_load(client, args.search_rate, args.seconds, args.max_inflight, phase))
    await asyncio.gather(*jobs)
    phase.seconds = time.perf_counter() - t0
    phase.server_cpu = (cpu_seconds(pid) - cpu0) / phase.seconds
    phase.pipeline_ticks_s = (await features_ticks(client) - before) / phase.seconds
    return phase


def report(phases: list[Phase], code: Path) -> None:
    print(f"code: {code}  (python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f})")
    hdr = "phase    quotes  p50 ms   p99 ms   max ms  err | searches sent/ok/drop   p50 ms"
    print(hdr + "   p99 ms | pipeline ticks/s | server cores")
    for p in phases:
        q = p.quotes_ms
        s = p.searches_ms
        print(
            f"{p.name:7} {len(q):6} {pct(q, 50):8.2f} {pct(q, 99):8.2f} {max(q or [0]):8.1f}"
            f" {p.quote_errors:4} | {p.searches_sent:5}/{len(s):5}/{p.searches_dropped:5}"
            f" {pct(s, 50):8.2f} {pct(s, 99):8.2f} | {p.pipeline_ticks_s:8.0f}"
            f" | {p.server_cpu:5.2f}"
        )
    idle = [x for p in phases if p.name == "idle" for x in p.quotes_ms]
    busy = [x for p in phases if p.name == "search" for x in p.quotes_ms]
    sent = sum(p.searches_sent for p in phases if p.name == "search")
    secs = sum(p.seconds for p in phases if p.name == "search")
    p50_idle, p50_busy = statistics.median(idle), statistics.median(busy)
    p99_idle, p99_busy = pct(idle, 99), pct(busy, 99)
    print(
        f"quote p50 idle {p50_idle:.2f} ms, with {sent / secs:.0f} searches/s sent "
        f"{p50_busy:.2f} ms: ratio {p50_busy / p50_idle:.2f}; "
        f"p99 {p99_idle:.2f} -> {p99_busy:.2f} ms: ratio {p99_busy / p99_idle:.2f}"
    )


async def measure(url: str, args: argparse.Namespace, pid: int) -> list[Phase]:
    client, quotes = Http(url), Http(url)  # quotes on connections of their own
    try:
        symbol = await pick_quote_symbol(quotes, 120)
        print(f"quoting {symbol} at {args.quote_rate}/s; warm-up {args.warmup}s")
        warm = argparse.Namespace(**{**vars(args), "seconds": args.warmup})
        await run_phase(client, symbol, "search", warm, pid, quotes)
        phases = []
        for _ in range(args.rounds):
            phases.append(await run_phase(client, symbol, "idle", args, pid, quotes))
            phases.append(await run_phase(client, symbol, "search", args, pid, quotes))
        return phases
    finally:
        client.close()
        quotes.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--code", type=Path, default=ROOT, help="source tree to run quant up from")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--quote-rate", type=float, default=20)
    ap.add_argument("--search-rate", type=float, default=100)
    ap.add_argument("--max-inflight", type=int, default=64)
    args = ap.parse_args()
    code = args.code.resolve()
    env = {**os.environ, "PYTHONPATH": f"{code}/services", "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as data:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, data], env=env, stdout=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout is not None
            url = ""
            t0 = time.monotonic()
            for line in child.stdout:
                if line.startswith("URL "):
                    url = line[4:].strip()
                    break
            if not url:
                raise SystemExit(f"quant up exited with {child.wait()} before serving")
            print(f"quant up serving {url} after {time.monotonic() - t0:.1f}s")
            phases = asyncio.run(measure(url, args, child.pid))
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
    report(phases, code)


if __name__ == "__main__":
    main()
