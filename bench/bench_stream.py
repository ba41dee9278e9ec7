"""Benchmark: tick published -> delivered as a quote to a WebSocket client of ``/api/v1/stream``.

The gateway as ``quant gateway`` runs it (``create_app`` served by the embedded uvicorn,
the bus feeder ``feed_read_model`` feeding the read model and the stream hub) on an
in-process bus, in this process; a publisher task puts ``--rate`` ticks/s (default 1,000)
on ``market.equity.ticks``, spread over ``--symbols`` instruments, each stamped with its
publish time (``ts_event``). The clients run in a child process (asyncio, the
``websockets`` library); each subscribes to ``quotes`` for ``--per-client`` symbols and
measures, per quote received, now - ``as_of_ns`` (publish -> bus -> feeder -> hub ->
outbox -> socket -> client). Side by side in one run:

1. phase ``1 client``: the reference, one client;
2. phase ``N clients``: ``--clients`` (default 200) clients at once.

Prints per phase: quotes received/s, latency p50/p99/max (ms), quotes conflated away by
the hub (a client had not taken the previous quote of the symbol yet) and how the clients
ended (``ok``, or an error code such as ``slow_consumer``). A symbol's first quote (its
state at subscribe time) is not counted.
Run: ``python bench/bench_stream.py [--seconds 15] [--clients 200] [--per-client 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from quant.bus import codecs, topics
from quant.bus.inprocess import InProcessBus
from quant.core.clock import SystemClock
from quant.core.events import FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.feeder import feed_read_model
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings
from quant.gateway.stream_hub import StreamHub
from quant.runtime.http_server import embedded_server, wait_started

ROOT = Path(__file__).resolve().parents[1]


def instruments(n: int) -> list[Instrument]:
    return [
        Instrument(
            f"NSE_EQ|INEBENCH{i:04d}",
            f"BENCH{i:04d}",
            f"BENCH CO {i}",
            "NSE",
            "NSE_EQ",
            InstrumentType.EQUITY,
        )
        for i in range(n)
    ]


# -- the clients (child process) -------------------------------------------------------


async def client(url: str, symbols: list[str], until: float, lat: list[float]) -> str:
    import websockets

    async with websockets.connect(url, max_queue=None) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channel": "quotes", "symbols": symbols}))
        seen: set[str] = set()  # a symbol's first quote is the state at subscribe time
        while time.monotonic() < until:
            try:
                text = await asyncio.wait_for(ws.recv(), max(0.01, until - time.monotonic()))
            except TimeoutError:
                break
            now = time.time_ns()
            message = json.loads(text)
            if message["type"] == "data":
                key = message["data"]["instrument_key"]
                if key in seen:
                    lat.append((now - message["data"]["as_of_ns"]) / 1e6)
                seen.add(key)
            elif message["type"] == "error":
                return str(message["code"])
    return "ok"


async def clients_main(args: argparse.Namespace) -> None:
    url = f"ws://127.0.0.1:{args.port}/api/v1/stream"
    names = [i.trading_symbol for i in instruments(args.symbols)]
    until = time.monotonic() + args.seconds
    lats: list[list[float]] = [[] for _ in range(args.clients)]
    tasks = []
    for c in range(args.clients):
        mine = [names[(c * args.per_client + j) % len(names)] for j in range(args.per_client)]
        tasks.append(client(url, mine, until, lats[c]))
        if c % 20 == 19:
            await asyncio.sleep(0.05)  # connect in waves
    ends = await asyncio.gather(*tasks, return_exceptions=True)
    flat = sorted(x for lat in lats for x in lat)
    print(json.dumps({
        "received": len(flat),
        "p50": statistics.median(flat) if flat else None,
        "p99": flat[int(len(flat) * 0.99)] if flat else None,
        "max": flat[-1] if flat else None,
        "ends": sorted({str(e) for e in ends}),
        "per_client_min": min(len(lat) for lat in lats),
    }))  # fmt: skip


# -- the gateway (this process) --------------------------------------------------------


async def publish_ticks(bus: InProcessBus, insts: list[Instrument], rate: int) -> None:
    publisher = bus.publisher()
    batch = max(1, rate // 100)  # every 10 ms
    i = 0
    next_at = time.monotonic()
    while True:
        for _ in range(batch):
            inst = insts[i % len(insts)]
            now = time.time_ns()
            ltp = 100_000 + (i % 500)
            tick = Tick(inst.instrument_key, FeedMode.LTPC, now, now, ltp, close_price=99_000)
            publisher.publish(topics.TICKS.name, inst.instrument_key, codecs.encode_tick(tick))
            i += 1
        next_at += batch / rate
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def run_clients(port: int, n: int, args: argparse.Namespace) -> dict[str, object]:
    cmd = [
        sys.executable, __file__, "--as-clients", "--port", str(port), "--clients", str(n),
        "--seconds", str(args.seconds), "--per-client", str(args.per_client),
        "--symbols", str(args.symbols),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def main(args: argparse.Namespace) -> None:
    insts = instruments(args.symbols)
    bus = InProcessBus()
    state = LiveMarketState()
    settings = GatewaySettings(source="sim", stream_max_connections=args.clients + 10)
    index = InstrumentIndex.build(insts)
    hub = StreamHub(
        state, index, SystemClock(), source="sim", stale_after_s=5.0,
        limits=settings.stream_limits(),
    )  # fmt: skip
    app = create_app(settings, GatewayPorts(state, index, stream=hub))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = embedded_server(app, "127.0.0.1", port)
    consumer = bus.consumer("bench-gateway", [topics.TICKS.name])
    feed = asyncio.create_task(feed_read_model(state, consumer, poll_s=0.05, hub=hub))
    http = asyncio.create_task(server.serve())
    await wait_started(server, http)
    ticks = asyncio.create_task(publish_ticks(bus, insts, args.rate))
    rows = []
    try:
        for n in (1, args.clients):
            conflated0 = hub.conflated
            started = time.monotonic()
            result = await asyncio.to_thread(run_clients, port, n, args)
            elapsed = time.monotonic() - started
            conflated = hub.conflated - conflated0
            rows.append((n, elapsed, result, conflated))
    finally:
        ticks.cancel()
        server.should_exit = True
        feed.cancel()
        await asyncio.gather(http, feed, ticks, return_exceptions=True)
    print(
        f"stream: {args.rate} ticks/s over {args.symbols} symbols, {args.per_client} symbols "
        f"per client, {args.seconds:g} s per phase"
    )
    print(f"{'phase':>12} {'quotes/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'conflated':>9} {'ends'}")  # fmt: skip
    for n, _elapsed, r, conflated in rows:
        print(
            f"{f'{n} client' + ('s' if n > 1 else ''):>12} "
            f"{int(r['received']) / args.seconds:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} "  # type: ignore[call-overload]
            f"{r['max']:8.2f} {conflated:9d} {r['ends']}"
        )


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--per-client", type=int, default=5)
    p.add_argument("--symbols", type=int, default=100)
    p.add_argument("--rate", type=int, default=1000)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--as-clients", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


if __name__ == "__main__":
    arguments = parse()
    asyncio.run(clients_main(arguments) if arguments.as_clients else main(arguments))
