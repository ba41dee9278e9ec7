"""Benchmark: intent -> broker acknowledgement through real Kafka, paper broker (issue #17).

Target: at 100 intents/s, p99 < 10 ms from the moment a strategy publishes an intent on
``orders.intents`` to the moment it reads that order's acknowledgement (the first OPEN or
TRIGGER_PENDING ``OrderEvent``) on ``orders.events``.

The service is the real one: ``quant.execution.main.build(settings, deps)`` run in this
process on a private Kafka broker (``production_jvm``, as the other Kafka benches), with
the paper broker and a journal in a SQLite file (``quant up``'s) or, with
``--store postgres``, a private PostgreSQL (the cluster's). What an intent goes through:
the intent consumer, the engine (risk check, PENDING_NEW journalled and sent, the
order-rate limiter, ``PaperBroker.place``, OPEN journalled and sent, one flush), the
broker-update loop (FILLED journalled, sent and flushed), and the two Kafka hops.
Orders are MARKET, alternately BUY and SELL 1 share of one NSE equity, so each one
also fills at once (its FILLED is journalled and published too, as in a real run) and
nothing piles up in the paper book.

So that the risk check passes at any hour, the service's clock is the wall clock moved to
11:00 IST of the last NSE trading day (it runs at real speed from there), and the client
publishes a full-depth tick of the instrument on ``market.equity.ticks`` 10 times a
second, stamped with that clock. The order-rate limiter (SEBI's 10/s and Upstox's
500/min, 2,000/30 min by default, at most 50/s configurable) would hold 100 orders/s back
for seconds: the benchmark measures the service's own latency, so it runs with one
window of 10,000/s (``--limiter default`` measures the queueing instead).

The reference, measured in the same run and alternated with the service round by round:
an *echo* with no service logic, the same loop shape (a Kafka consumer polled from a
worker thread, the intent decoded, an OPEN ``OrderEvent`` encoded, published and flushed)
on two topics of its own with the partitions of ``orders.intents`` / ``orders.events``:
the floor of two Kafka hops that the service adds its work to.

Both are driven the same way by one client thread: it publishes one intent every
``1/rate`` s (flushed, as a strategy would), stamping ``perf_counter_ns`` just before,
and between sends polls the events, matching each acknowledgement to its intent by the
client order id (the service derives it from the strategy and the intent's sequence;
each round uses a strategy name of its own). The first ``--warmup-s`` of each round are
not counted. Reported per round: n, lost (no acknowledgement within 10 s), p50 / p90 /
p99 / max in ms; with ``--breakdown`` also the durations of the service's steps (engine
submit, broker-update handling, journal appends, Kafka flushes, garbage-collector
pauses) in the service rounds.

Run: ``python bench/bench_intent_ack.py [--rates 100,50] [--seconds 30] [--rounds 2]
[--store sqlite|postgres] [--gc-freeze-every 0,1] [--append]``; several
``--gc-freeze-every`` values run one service round each per round (0: no periodic freeze).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import functools
import gc
import platform
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from quant.bus import codecs
from quant.bus.kafka import KafkaBus
from quant.bus.settings import KafkaSettings
from quant.bus.topics import INTENTS, ORDERS, TICKS, Topic
from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.devinfra.servers import KafkaServer
from quant.runtime.blocking import run_blocking
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.trading.client_ids import client_order_id, parse_client_order_id
from quant.trading.intent import IntentMessage, OrderIntent, Product
from quant.trading.ratelimit import OrderRateLimiter, RateMode, RateWindow

KEY = "NSE_EQ|INE002A01018"
INSTRUMENT = Instrument(
    KEY, "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ", InstrumentType.EQUITY,
    lot_size=1, tick_size_paise=10, isin="INE002A01018",
)  # fmt: skip
PRICE = 250_000  # ₹2,500.00
ACKS = (OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING)
TICKS_PER_SECOND = 10
LOST_AFTER_S = 10.0
ECHO_INTENTS = Topic("bench.ack.intents", INTENTS.partitions, INTENTS.retention_ms)
ECHO_EVENTS = Topic("bench.ack.events", ORDERS.partitions, ORDERS.retention_ms)


# --- the clock the service runs on ---------------------------------------------------------


def session_offset_ns() -> int:
    """Wall time -> 11:00 IST of the last NSE trading day (today if it is one)."""
    day = dt.datetime.now(IST).date()
    while NSE_CALENDAR.session(day) is None:
        day -= dt.timedelta(days=1)
    target = datetime_to_ns(dt.datetime.combine(day, dt.time(11, 0), tzinfo=IST))
    return target - time.time_ns()


class OffsetClock:
    """The wall clock moved by a fixed offset (real speed)."""

    def __init__(self, offset_ns: int) -> None:
        self.offset_ns = offset_ns

    def now_ns(self) -> int:
        return time.time_ns() + self.offset_ns


# --- the client: intents out, acknowledgements in --------------------------------------------


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


@dataclasses.dataclass
class Result:
    name: str
    latencies_ms: list[float]
    lost: int

    def line(self) -> str:
        lat = sorted(self.latencies_ms)
        return (
            f"{self.name:8s} n {len(lat):>5,}  lost {self.lost}  p50 {pct(lat, 0.5):6.2f}  "
            f"p90 {pct(lat, 0.9):6.2f}  p99 {pct(lat, 0.99):6.2f}  "
            f"max {lat[-1] if lat else float('nan'):7.2f} ms"
        )


def tick(clock: OffsetClock) -> bytes:
    now = clock.now_ns()
    depth = tuple(DepthLevel(PRICE - 10 * (i + 1), 500, PRICE + 10 * i, 500) for i in range(5))
    return codecs.encode_tick(
        Tick(KEY, FeedMode.FULL, now, now, PRICE, ltt_ns=now, ltq=10, depth=depth)
    )


def drive(
    bootstrap: str,
    name: str,
    strategy: str,
    intents_topic: str,
    events_topic: str,
    clock: OffsetClock,
    *,
    rate: float,
    seconds: float,
    warmup_s: float,
) -> Result:
    """Publish ``rate`` intents/s for ``warmup_s + seconds``; time each acknowledgement."""
    bus = KafkaBus(bootstrap, client_id=f"bench-ack-{name}")
    publisher = bus.publisher()
    consumer = bus.consumer(f"bench-ack-{uuid.uuid4().hex[:8]}", [events_topic])
    warm = int(rate * warmup_s)
    total = warm + int(rate * seconds)
    sent: dict[int, int] = {}
    acked: dict[int, float] = {}

    def take(timeout: float) -> None:
        for m in consumer.poll(1000, timeout):
            now = time.perf_counter_ns()
            event = codecs.decode_order(m.value())
            if event.strategy != strategy or event.status not in ACKS:
                continue
            seq = parse_client_order_id(event.client_order_id).sequence
            if seq in sent and seq not in acked:
                acked[seq] = (now - sent[seq]) / 1e6

    try:
        while not consumer.poll(10, 0.5) and not consumer_assigned(consumer):
            pass
        began = time.perf_counter()
        next_tick = began
        seq = 0
        while seq < total:
            now = time.perf_counter()
            if now >= next_tick:
                publisher.publish(TICKS.name, KEY, tick(clock))
                next_tick += 1 / TICKS_PER_SECOND
            due = began + seq / rate
            if now < due:
                take(min(due, next_tick) - now)
                continue
            seq += 1
            intent = OrderIntent(
                strategy, KEY, Side.BUY if seq % 2 else Side.SELL, 1, OrderType.MARKET,
                Product.INTRADAY,
            )  # fmt: skip
            value = codecs.encode_intent(IntentMessage(intent, seq, clock.now_ns()))
            sent[seq] = time.perf_counter_ns()
            publisher.publish(intents_topic, strategy, value)
            publisher.flush()
        deadline = time.monotonic() + LOST_AFTER_S
        while len(acked) < total and time.monotonic() < deadline:
            take(0.05)
    finally:
        consumer.close()
        publisher.close()
    counted = [ms for s, ms in acked.items() if s > warm]
    return Result(name, counted, total - warm - len(counted))


def consumer_assigned(consumer: Any) -> bool:
    """True once the consumer has partitions (a fresh group reads from the start)."""
    raw = getattr(consumer, "_consumer", None)
    return bool(raw is not None and raw.assignment())


# --- where the service's time goes (--breakdown) ---------------------------------------------

STEPS: dict[str, list[float]] = {}


def timed(owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` (sync or async) to record its duration under ``label``."""
    inner = getattr(owner, name)
    if asyncio.iscoroutinefunction(inner):

        async def wrapped_async(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return await inner(*a, **k)
            finally:
                STEPS.setdefault(label, []).append((time.perf_counter() - t) * 1e3)

        setattr(owner, name, wrapped_async)
        return

    def wrapped(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            STEPS.setdefault(label, []).append((time.perf_counter() - t) * 1e3)

    setattr(owner, name, wrapped)


_GC_STARTED: list[float] = []


def _on_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _GC_STARTED[:] = [time.perf_counter()]
    elif _GC_STARTED:
        label = f"GC pause, generation {info['generation']}"
        STEPS.setdefault(label, []).append((time.perf_counter() - _GC_STARTED[0]) * 1e3)


def time_the_steps() -> None:
    from quant.bus.kafka import KafkaPublisher
    from quant.execution.engine import ExecutionEngine

    gc.callbacks.append(_on_gc)  # every thread's collections (the client's too)

    timed(ExecutionEngine, "submit", "engine.submit (intent -> placed)")
    timed(ExecutionEngine, "on_broker_update", "engine.on_broker_update")
    timed(KafkaPublisher, "flush", "Kafka publisher flush")


def print_steps() -> None:
    for label, values in sorted(STEPS.items()):
        v = sorted(values)
        print(
            f"    {label:36s} n {len(v):>6,}  p50 {pct(v, 0.5):6.2f}  p90 {pct(v, 0.9):6.2f}  "
            f"p99 {pct(v, 0.99):6.2f} ms",
            flush=True,
        )
    STEPS.clear()


# --- the targets: the echo and the service -------------------------------------------------


async def echo(bootstrap: str, strategy: str, clock: OffsetClock, stop: asyncio.Event) -> None:
    """Read intents, answer each with an OPEN event: two hops, no service logic."""
    bus = KafkaBus(bootstrap, client_id="bench-echo")
    bus.ensure_topics([ECHO_INTENTS, ECHO_EVENTS])
    consumer = bus.consumer(f"bench-echo-{uuid.uuid4().hex[:8]}", [ECHO_INTENTS.name])
    publisher = bus.publisher()
    try:
        while not stop.is_set():
            for m in await run_blocking(consumer.poll, 100, 0.2):
                message = codecs.decode_intent(m.value())
                i = message.intent
                if i.strategy != strategy:
                    continue
                now = clock.now_ns()
                cid = client_order_id(strategy, dt.datetime.now(IST).date(), message.sequence)
                event = OrderEvent(
                    cid, i.instrument_key, i.side, i.order_type, i.quantity, OrderStatus.OPEN,
                    now, now, broker_order_id=f"ECHO-{message.sequence}", strategy=strategy,
                )  # fmt: skip
                publisher.publish(ECHO_EVENTS.name, cid, codecs.encode_order(event))
                await run_blocking(publisher.flush)
            await run_blocking(consumer.commit)
    finally:
        consumer.close()
        publisher.close()


@contextlib.asynccontextmanager
async def relational_store(store: str, root: Path, dsn: str | None) -> Any:
    """A fresh journal per round: SQLite file, or a new PostgreSQL database."""
    if store == "sqlite":
        from quant.store.sqlite_relational import SqliteRelationalStore

        sqlite = SqliteRelationalStore(root / f"orders-{uuid.uuid4().hex[:8]}.db").open()
        timed(sqlite, "append_order_event", "journal append (SQLite)")
        timed(sqlite, "append_order_events", "journal append_many (SQLite)")
        try:
            yield sqlite
        finally:
            sqlite.close()
        return
    from pydantic import SecretStr

    from quant.store.postgres import PostgresStore
    from quant.store.settings import PostgresSettings

    assert dsn is not None
    pg = PostgresStore.from_settings(PostgresSettings(dsn=SecretStr(dsn)))
    await run_blocking(pg.open, 10.0)
    timed(pg, "append_order_event", "journal append (PostgreSQL)")
    timed(pg, "append_order_events", "journal append_many (PostgreSQL)")
    try:
        yield pg
    finally:
        pg.close()


class BenchRate:
    """The order-rate settings the service gets: one wide window (see the module doc)."""

    def __init__(self, default: Any, mode: str) -> None:
        self._default = default
        self._mode = mode

    def to_limiter(self) -> OrderRateLimiter:
        if self._mode == "default":
            return self._default.to_limiter()  # type: ignore[no-any-return]
        return OrderRateLimiter((RateWindow(10_000, NS_PER_SECOND),), RateMode.QUEUE)


async def service(
    bootstrap: str,
    store: Any,
    clock: OffsetClock,
    limiter: str,
    started: Callable[[Any], None],
    stop: asyncio.Event,
    gc_freeze_every_s: float = 1.0,
) -> None:
    """The real execution service, paper mode, until ``stop``."""
    from quant.execution.main import build
    from quant.execution.settings import ExecutionSettings

    settings = ExecutionSettings(
        mode="paper",
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
        api_host="127.0.0.1",
        api_port=0,
        metrics_port=0,
        control_catchup_s=0.5,
        gc_freeze_every_s=gc_freeze_every_s,
    )
    # the settings are frozen and validated (at most 50 orders/s); the bench's limiter is
    # put in by replacing the section with an object that makes it (see the module doc)
    settings = settings.model_copy(update={"rate": BenchRate(settings.rate, limiter)})
    registry, board = new_registry_and_board()
    deps = Deps(
        clock=clock,
        registry=registry,
        board=board,
        bus=KafkaBus(bootstrap, client_id="bench-execution"),
        instruments=FixedCatalog([INSTRUMENT], "the benchmark"),
        relational=store,
    )
    svc = build(settings, deps)
    started(svc)
    await svc.run(stop)


# --- one round --------------------------------------------------------------------------------


async def measure(
    name: str,
    target: Callable[[str, asyncio.Event], Awaitable[None]],
    ready: Callable[[], bool],
    drive_args: dict[str, Any],
    strategy: str,
) -> Result:
    """Run ``target`` until the client thread is done with it."""
    stop = asyncio.Event()
    task = asyncio.create_task(target(strategy, stop), name=f"bench-{name}")
    try:
        while True:  # ready: recovered and reading intents
            if task.done():
                task.result()
                raise RuntimeError(f"{name} ended before it was ready")
            if ready():
                break
            await asyncio.sleep(0.05)
        # the client's own thread: the default executor's few workers are the service's
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="bench-client") as ex:
            call = functools.partial(drive, name=name, strategy=strategy, **drive_args)
            return await asyncio.get_running_loop().run_in_executor(ex, call)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)


async def echo_round(common: dict[str, Any], name: str = "echo") -> Result:
    """One round of the reference."""
    bootstrap, clock = common["bootstrap"], common["clock"]
    ready = threading.Event()
    # ready once its consumer has joined; its fresh group reads from the start anyway
    asyncio.get_running_loop().call_later(2.0, ready.set)

    async def run_echo(strategy: str, stop: asyncio.Event) -> None:
        await echo(bootstrap, strategy, clock, stop)

    drive_args = {**common, "intents_topic": ECHO_INTENTS.name, "events_topic": ECHO_EVENTS.name}
    return await measure(name, run_echo, ready.is_set, drive_args, f"e{uuid.uuid4().hex[:5]}")


async def service_round(
    common: dict[str, Any],
    args: argparse.Namespace,
    root: Path,
    dsn: str | None,
    gc_every: float = 1.0,
    name: str = "service",
) -> Result:
    """One round of the service, on a fresh journal (its recovery has nothing to load)."""
    holder: list[Any] = []
    async with relational_store(args.store, root, dsn) as store:

        async def run_service(strategy: str, stop: asyncio.Event) -> None:
            del strategy  # the service takes every intent
            await service(
                common["bootstrap"],
                store,
                common["clock"],
                args.limiter,
                holder.append,
                stop,
                gc_every,
            )

        drive_args = {**common, "intents_topic": INTENTS.name, "events_topic": ORDERS.name}
        return await measure(
            name,
            run_service,
            lambda: bool(holder) and holder[0].ready()[0],
            drive_args,
            f"s{uuid.uuid4().hex[:5]}",
        )


async def rounds(args: argparse.Namespace, bootstrap: str, root: Path, dsn: str | None) -> None:
    clock = OffsetClock(session_offset_ns())
    common = {
        "bootstrap": bootstrap,
        "clock": clock,
        "rate": args.rates[0],
        "seconds": args.seconds,
        "warmup_s": args.warmup_s,
    }
    KafkaBus(bootstrap).ensure_topics([INTENTS, ORDERS, TICKS, ECHO_INTENTS, ECHO_EVENTS])
    if args.breakdown and not args.echo_only:
        time_the_steps()
    if args.kafka_warmup_s:
        warm = {**common, "seconds": args.kafka_warmup_s, "warmup_s": 0.0}
        print(f"- Kafka warm-up (not counted): {(await echo_round(warm)).line()}", flush=True)
    results: list[tuple[float, Result]] = []
    for n in range(args.rounds):
        for rate in args.rates:
            at = {**common, "rate": rate}
            results.append((rate, await echo_round(at)))
            print(f"- round {n + 1}, {rate:>4.0f}/s  {results[-1][1].line()}", flush=True)
            if args.echo_only:
                continue
            for every in args.gc_freeze_every:
                STEPS.clear()
                name = service_name(every, args.gc_freeze_every)
                results.append((rate, await service_round(at, args, root, dsn, every, name)))
                print(f"- round {n + 1}, {rate:>4.0f}/s  {results[-1][1].line()}", flush=True)
                if args.breakdown:
                    print_steps()
    names = ["echo", *(service_name(e, args.gc_freeze_every) for e in args.gc_freeze_every)]
    for rate in args.rates:
        for name in names:
            mine = [sorted(r.latencies_ms) for at, r in results if r.name == name and at == rate]
            if mine:
                p50 = " / ".join(f"{pct(lat, 0.5):.2f}" for lat in mine)
                p99 = " / ".join(f"{pct(lat, 0.99):.2f}" for lat in mine)
                print(f"- {rate:.0f}/s {name}: p50 {p50} ms, p99 {p99} ms", flush=True)


def service_name(every: float, all_values: list[float]) -> str:
    """``service``, or ``service gc=<every>`` when several freeze intervals are compared."""
    return "service" if len(all_values) == 1 else f"service gc={every:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        default=[100.0],
        help="intents per second, comma-separated (each round runs each rate)",
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="measured, per round")
    parser.add_argument("--warmup-s", type=float, default=5.0, help="not counted, per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--limiter", choices=("wide", "default"), default="wide")
    parser.add_argument("--echo-only", action="store_true", help="the reference alone")
    parser.add_argument(
        "--breakdown", action="store_true", help="time the service's steps (adds a little)"
    )
    parser.add_argument(
        "--gc-freeze-every",
        type=lambda text: [float(v) for v in text.split(",")],
        default=[1.0],
        help="the service's QUANT_GC_FREEZE_EVERY_S; several (e.g. 0,1) alternate per round",
    )
    parser.add_argument("--kafka-warmup-s", type=float, default=20.0, help="echo, not counted")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-ack-"))
    root.chmod(0o755)  # PostgreSQL runs as its own user
    kafka = KafkaServer(root / "kafka", die_with_parent=True, production_jvm=True)
    servers: list[Any] = [kafka]
    dsn = None
    if args.store == "postgres":
        from quant.devinfra.servers import PostgresServer

        pg = PostgresServer(root / "postgres", die_with_parent=True)
        servers.append(pg)
    try:
        for server in servers:
            server.start()
        if args.store == "postgres":
            dsn = pg.dsn
        print(
            f"- machine: {platform.machine()}, Python {platform.python_version()}, "
            f"{', '.join(f'{r:.0f}' for r in args.rates)} intents/s, "
            f"{args.seconds:.0f} s per round "
            f"(+{args.warmup_s:.0f} s warm-up), journal {args.store}, limiter {args.limiter}",
            flush=True,
        )
        asyncio.run(rounds(args, kafka.bootstrap, root, dsn))
    finally:
        for server in reversed(servers):
            server.stop()


if __name__ == "__main__":
    main()
