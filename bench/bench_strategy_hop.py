"""Benchmark: live strategy hop, enriched tick published -> intent on ``orders.intents``
(issue #19; target p99 < 5 ms through real Kafka at 10,000 ticks/s).

The runtime is the real one: ``quant.strategy.service.StrategyService`` run in this process
on a private Kafka broker (``production_jvm``, as the other Kafka benches), with one
strategy that emits a LIMIT intent on every ``--every``-th enriched tick (100 by default:
100 intents/s at 10,000 ticks/s) and does nothing with the others. A tick goes through
the runtime's consumer (polled on its own thread), the decode, the host (market state,
the strategy's ``on_enriched``), and for an intent the encode, the publish and the
flush of each step.

The reference, measured in the same run and alternated with the runtime round by round:
an *echo* with no strategy logic, the same loop shape (a consumer polled from a thread,
each enriched tick decoded, an intent encoded for every ``--every``-th, published and
flushed per batch) on two topics of its own with the partitions of
``market.enriched.ticks`` / ``orders.intents``: the floor of two Kafka hops.

One client thread publishes the ticks at ``--rate`` (paced in 1 ms slices, over 50
instruments, not flushed: the producer's 1 ms linger sends them) with the tick's number
in its ``volume``; it stamps ``perf_counter_ns`` just before publishing each marked tick.
Another thread reads the intents, takes the tick number from the intent's tag and
records the latency. The first ``--warmup-s`` of each round are not counted (the
consumers of a new group join meanwhile), nor a first echo round of ``--kafka-warmup-s``
(a fresh broker's JIT); the runtime and the echo alternate which goes first. Reported
per round: n, lost (no intent within the round), p50 / p90 / p99 / max in ms, and at the
end the runtime's p99 over the echo's.

Run: ``python bench/bench_strategy_hop.py [--rate 10000] [--every 100] [--seconds 20]
[--rounds 2] [--bootstrap HOST:PORT]`` (without ``--bootstrap`` a private broker is
started and stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import platform
import tempfile
import threading
import time
import uuid
from pathlib import Path

from prometheus_client import CollectorRegistry

from quant.bus import codecs
from quant.bus.kafka import KafkaBus
from quant.bus.topics import ENRICHED, INTENTS, Topic
from quant.core.clock import SystemClock
from quant.core.events import AggressorSide, EnrichedTick
from quant.core.orders import OrderType, Side
from quant.devinfra.servers import KafkaServer
from quant.runtime.deps import Deps, FixedCatalog
from quant.runtime.status import StatusBoard
from quant.strategy.config import ConfiguredStrategy, StrategyEntry
from quant.strategy.service import StrategyService
from quant.strategy.settings import StrategySettings
from quant.trading.intent import IntentMessage, OrderIntent, Product
from quant.trading.strategy import Strategy, StrategyContext, StrategyParams, validate_params

ECHO_ENRICHED = Topic("bench.echo.enriched", ENRICHED.partitions, 3_600_000)
ECHO_INTENTS = Topic("bench.echo.intents", INTENTS.partitions, 3_600_000)
KEYS = [f"NSE_EQ|BENCH{i:02d}" for i in range(50)]
PRICE = 100_000
SLICE_S = 0.001


class HopParams(StrategyParams):
    every: int = 100


class Hop(Strategy[HopParams]):
    """A LIMIT intent on every ``every``-th enriched tick, tagged with the tick's number."""

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        n = tick.volume
        if n % self.params.every == 0:
            ctx.limit(tick.instrument_key, Side.BUY, 1, tick.ltp, tag=str(n))


def enriched(key: str, n: int, now: int) -> bytes:
    return codecs.encode_enriched(
        EnrichedTick(
            key,
            now,
            now,
            PRICE,
            n,
            1000.0,
            1000.0,
            0.1,
            0.1,
            0.1,
            10,
            1.0,
            1000.0,
            AggressorSide.BUY,
            1,
            1,
            0,
            5.0,
            now,
        )
    )


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


@dataclasses.dataclass
class Result:
    name: str
    latencies_ms: list[float]
    lost: int

    def p99(self) -> float:
        return pct(sorted(self.latencies_ms), 0.99)

    def line(self) -> str:
        lat = sorted(self.latencies_ms)
        return (
            f"{self.name:8s} n {len(lat):>5,}  lost {self.lost}  p50 {pct(lat, 0.5):6.2f}  "
            f"p90 {pct(lat, 0.9):6.2f}  p99 {pct(lat, 0.99):6.2f}  "
            f"max {lat[-1] if lat else float('nan'):7.2f} ms"
        )


def drive(
    bootstrap: str,
    name: str,
    ticks_topic: str,
    intents_topic: str,
    strategy: str,
    *,
    rate: float,
    every: int,
    seconds: float,
    warmup_s: float,
) -> Result:
    """Publish ``rate`` ticks/s for ``warmup_s + seconds``; time each intent."""
    bus = KafkaBus(bootstrap, client_id=f"bench-hop-{name}")
    publisher = bus.publisher()
    consumer = bus.consumer(f"bench-hop-{uuid.uuid4().hex[:8]}", [intents_topic], from_end=True)
    sent: dict[int, int] = {}
    got: dict[int, float] = {}
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            for m in consumer.poll(1000, 0.05):
                now = time.perf_counter_ns()
                command = codecs.decode_command(m.value())
                if not isinstance(command, IntentMessage) or command.intent.strategy != strategy:
                    continue
                n = int(command.intent.tag)
                if n in sent and n not in got:
                    got[n] = (now - sent[n]) / 1e6

    reader = threading.Thread(target=read, name="bench-hop-reader")
    reader.start()
    try:
        per_slice = rate * SLICE_S
        total = int(rate * (warmup_s + seconds))
        warm = int(rate * warmup_s)
        began = time.perf_counter()
        n = 0
        owed = 0.0
        slices = 0
        while n < total:
            slices += 1
            owed += per_slice
            while owed >= 1 and n < total:
                owed -= 1
                n += 1
                key = KEYS[n % len(KEYS)]
                value = enriched(key, n, time.time_ns())
                if n % every == 0:
                    sent[n] = time.perf_counter_ns()
                publisher.publish(ticks_topic, key, value)
            pause = began + slices * SLICE_S - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        publisher.flush()
        deadline = time.monotonic() + 5
        marked = [k for k in sent if k > warm]
        while time.monotonic() < deadline and any(k not in got for k in marked):
            time.sleep(0.05)
    finally:
        done.set()
        reader.join()
        consumer.close()
        publisher.close()
    counted = [got[k] for k in marked if k in got]
    return Result(name, counted, len(marked) - len(counted))


def echo(bootstrap: str, strategy: str, every: int, stop: threading.Event) -> None:
    """Consume enriched ticks, decode each, an intent per ``every``-th, publish + flush."""
    bus = KafkaBus(bootstrap, client_id="bench-hop-echo")
    consumer = bus.consumer(
        f"bench-echo-{uuid.uuid4().hex[:8]}", [ECHO_ENRICHED.name], from_end=True
    )
    publisher = bus.publisher()
    seq = 0
    try:
        while not stop.is_set():
            out = 0
            for m in consumer.poll(2000, 0.02):
                tick = codecs.decode_enriched(m.value())
                if tick.volume % every:
                    continue
                seq += 1
                intent = OrderIntent(
                    strategy, tick.instrument_key, Side.BUY, 1, OrderType.LIMIT,
                    Product.INTRADAY, price=tick.ltp, tag=str(tick.volume),
                )  # fmt: skip
                message = IntentMessage(intent, seq, time.time_ns())
                publisher.publish(ECHO_INTENTS.name, strategy, codecs.encode_intent(message))
                out += 1
            if out:
                publisher.flush()
    finally:
        consumer.close()
        publisher.close()


async def echo_round(args: argparse.Namespace, bootstrap: str) -> Result:
    strategy = f"echo{uuid.uuid4().hex[:6]}"
    stop = threading.Event()
    thread = threading.Thread(target=echo, args=(bootstrap, strategy, args.every, stop))
    thread.start()
    try:
        return await asyncio.to_thread(
            drive, bootstrap, "echo", ECHO_ENRICHED.name, ECHO_INTENTS.name, strategy,
            rate=args.rate, every=args.every, seconds=args.seconds, warmup_s=args.warmup_s,
        )  # fmt: skip
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)


async def runtime_round(args: argparse.Namespace, bootstrap: str, root: Path) -> Result:
    strategy = f"hop{uuid.uuid4().hex[:6]}"
    registry = CollectorRegistry()
    bus = KafkaBus(bootstrap, client_id="bench-hop-runtime")
    deps = Deps(
        clock=SystemClock(),
        registry=registry,
        board=StatusBoard(registry),
        bus=bus,
        instruments=FixedCatalog([], "none"),
    )
    settings = StrategySettings.model_validate(
        {"data_dir": root, "metrics_port": 0, "restore_quiet_s": 0.5, "strategy_group": strategy}
    )
    entry = StrategyEntry.model_validate(
        {"id": strategy, "class": "bench_strategy_hop:Hop", "params": {"every": args.every}}
    )
    configured = ConfiguredStrategy(entry, Hop, validate_params(Hop, {"every": args.every}))
    service = StrategyService(settings, deps, [configured])
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        while not service.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        return await asyncio.to_thread(
            drive, bootstrap, "runtime", ENRICHED.name, INTENTS.name, strategy,
            rate=args.rate, every=args.every, seconds=args.seconds, warmup_s=args.warmup_s,
        )  # fmt: skip
    finally:
        stop.set()
        await task


async def rounds(args: argparse.Namespace, bootstrap: str, root: Path) -> None:
    KafkaBus(bootstrap).ensure_topics([ENRICHED, INTENTS, ECHO_ENRICHED, ECHO_INTENTS])
    if args.kafka_warmup_s:
        warm = argparse.Namespace(**{**vars(args), "seconds": args.kafka_warmup_s})
        print(f"- Kafka warm-up (not counted): {(await echo_round(warm, bootstrap)).line()}")
    results: list[Result] = []
    for n in range(args.rounds):
        pair = [echo_round(args, bootstrap), runtime_round(args, bootstrap, root)]
        for coroutine in pair if n % 2 == 0 else pair[::-1]:  # alternate which goes first
            results.append(await coroutine)
            print(f"- round {n + 1}  {results[-1].line()}", flush=True)
    for name in ("echo", "runtime"):
        mine = [r for r in results if r.name == name]
        p50 = " / ".join(f"{pct(sorted(r.latencies_ms), 0.5):.2f}" for r in mine)
        p99 = " / ".join(f"{r.p99():.2f}" for r in mine)
        print(f"- {name}: p50 {p50} ms, p99 {p99} ms", flush=True)
    echoes = [r for r in results if r.name == "echo"]
    runtimes = [r for r in results if r.name == "runtime"]
    ratios = [r.p99() / e.p99() for e, r in zip(echoes, runtimes, strict=True) if e.p99() > 0]
    print(f"- runtime p99 / echo p99 per round: {' / '.join(f'{x:.2f}' for x in ratios)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10_000.0, help="enriched ticks/s")
    parser.add_argument("--every", type=int, default=100, help="an intent every N ticks")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured, per round")
    parser.add_argument("--warmup-s", type=float, default=5.0, help="not counted, per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kafka-warmup-s", type=float, default=10.0, help="echo, not counted")
    parser.add_argument("--bootstrap", help="an existing Kafka (default: a private one)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-hop-"))
    print(
        f"- machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{args.rate:,.0f} enriched ticks/s, an intent every {args.every}, "
        f"{args.seconds:.0f} s per round (+{args.warmup_s:.0f} s warm-up)",
        flush=True,
    )
    if args.bootstrap:
        asyncio.run(rounds(args, args.bootstrap, root))
        return
    kafka = KafkaServer(root / "kafka", die_with_parent=True, production_jvm=True)
    try:
        kafka.start()
        asyncio.run(rounds(args, kafka.bootstrap, root))
    finally:
        kafka.stop()


if __name__ == "__main__":
    main()
