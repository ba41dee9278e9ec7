"""Harness for the execution kill trials, burst and flatten runs against ``quant sim``.

``Lab`` runs the simulator in this process (so its order log, fault hooks and order book
can be read directly) and starts the execution process under test as a child
(:class:`EngineChild`), which can be SIGKILLed at any instant and started again on the
same journal. ``run_kill_trials`` is the trial loop shared by the CI test (10 trials) and
``bench/bench_exec_trials.py`` (100): for each trial a seeded random intent is sent, the
simulator may be told to hold the place answer back (``lose_order_answers``), the child is
killed after a seeded random delay, restarted (``recover()``), the same intent is
redelivered (as a Kafka consumer that had not committed would), and the positions of the
restarted process are compared with the simulator's. Duplicates are counted at the
simulator: accepted place commands per tag (``SimState.order_log``) and orders per tag in
its order book.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from quant.bus import codecs, topics
from quant.bus.kafka import KafkaBus
from quant.core.clock import IST, ns_to_datetime
from quant.core.events import FeedMode, Tick
from quant.core.orders import OrderType, Side
from quant.sim.config import SimConfig, default_start
from quant.sim.server import SimServer
from quant.store.postgres import PostgresStore
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.trading.client_ids import client_order_id
from quant.trading.intent import IntentMessage, OrderIntent, Product

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CHILD = HERE / "exec_child.py"
SERVICE_CHILD = HERE / "exec_service_child.py"
STRATEGY = "trials"
ALGO = "trials-algo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def trading_start() -> datetime:
    """09:17 IST of the next full trading day: the simulated market is open."""
    return default_start(datetime.now(IST).date()) + timedelta(minutes=3)


def liquid_equities(sim: SimServer, count: int) -> list[str]:
    """``count`` NSE equities of the simulator's universe (the first ones: the majors)."""
    rows = [r for r in sim.state.universe.exchange_rows("NSE") if r.get("segment") == "NSE_EQ"]
    return [str(r["instrument_key"]) for r in rows[:count]]


class ChildDied(RuntimeError):
    """The execution process ended on its own (its stderr log says why)."""


class EngineChild:
    """One run of the execution process; JSON-lines commands over its stdin/stdout."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path
        self._next = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if msg.get("op") == "ready" and not self.ready.done():
                self.ready.set_result(msg)
                continue
            fut = self._waiting.pop(int(msg.get("id", -1)), None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
        tail = self.log_path.read_text()[-3000:] if self.log_path.exists() else ""
        gone = ChildDied(f"execution process ended; the end of its log:\n{tail}")
        if not self.ready.done():
            self.ready.set_exception(gone)
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(gone)
        self._waiting.clear()

    def send(self, op: str, **kw: Any) -> asyncio.Future[dict[str, Any]]:
        """Send a command now; the future gets its answer (or ChildDied)."""
        assert self.proc.stdin is not None
        self._next += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(lambda f: f.exception() if not f.cancelled() else None)
        self._waiting[self._next] = fut
        self.proc.stdin.write((json.dumps({"id": self._next, "op": op, **kw}) + "\n").encode())
        return fut

    async def call(self, op: str, wait_s: float = 60.0, **kw: Any) -> dict[str, Any]:
        answer = await asyncio.wait_for(self.send(op, **kw), wait_s)
        if "error" in answer:
            raise RuntimeError(f"{op} failed in the execution process: {answer['error']}")
        return answer

    # -- what the trials ask of an execution process (a script child answers on stdin) --

    async def started(self, ready: dict[str, Any]) -> None:
        """Called once with the ready line."""

    def submit(self, intent: dict[str, Any], sequence: int) -> asyncio.Future[Any] | None:
        """Hand an intent to the process; a future of its answer where there is one."""
        return self.send("submit", intent=intent, sequence=sequence)

    async def positions(self) -> dict[str, int]:
        """Net quantity per ``instrument_key#product``, all strategies, non-zero only."""
        positions: dict[str, int] = (await self.call("positions"))["positions"]
        return positions

    async def status_of(self, client_order_id: str) -> str:
        for cid, status, _ in (await self.call("orders"))["orders"]:
            if cid == client_order_id:
                return str(status)
        return "unknown"

    async def statuses(self) -> Counter[str]:
        return Counter(str(o[1]) for o in (await self.call("orders"))["orders"])

    async def kill_switch(self, action: str, strategy: str) -> None:
        await self.call("kill", action=action, strategy=strategy)

    async def kill(self) -> None:
        """SIGKILL, no warning, and reap it."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.send("exit"), 2.0)
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10.0)
            except TimeoutError:
                await self.kill()
        self._reader.cancel()


class ServiceChild(EngineChild):
    """The execution service (``exec_service_child.py``): intents go on Kafka, reads and
    the kill switch through its HTTP API with a trader key."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path, lab: Lab) -> None:
        super().__init__(proc, log_path)
        self.lab = lab
        self.http: httpx.AsyncClient | None = None

    async def started(self, ready: dict[str, Any]) -> None:
        key = (self.lab.workdir / "key").read_text().strip()
        self.http = httpx.AsyncClient(
            base_url=ready["api"], headers={"Authorization": f"Bearer {key}"}, timeout=30.0
        )

    def _api(self) -> httpx.AsyncClient:
        assert self.http is not None, "not started"
        return self.http

    def submit(self, intent: dict[str, Any], sequence: int) -> asyncio.Future[Any] | None:
        self.lab.publish_intent(intent, sequence)
        return None

    async def positions(self) -> dict[str, int]:
        r = await self._api().get("/v1/positions")
        r.raise_for_status()
        net: dict[str, int] = {}
        for p in r.json():
            k = f"{p['instrument_key']}#{p['product']}"
            net[k] = net.get(k, 0) + int(p["quantity"])
        return {k: q for k, q in net.items() if q}

    async def _orders(self) -> list[dict[str, Any]]:
        r = await self._api().get("/v1/orders", params={"limit": 1000})
        r.raise_for_status()
        orders: list[dict[str, Any]] = r.json()
        return orders

    async def status_of(self, client_order_id: str) -> str:
        for o in await self._orders():
            if o["client_order_id"] == client_order_id:
                return str(o["status"])
        return "unknown"

    async def statuses(self) -> Counter[str]:
        return Counter(str(o["status"]) for o in await self._orders())

    async def kill_switch(self, action: str, strategy: str) -> None:
        r = await self._api().post("/v1/killswitch", json={"action": action, "strategy": strategy})
        r.raise_for_status()

    async def kill(self) -> None:
        await super().kill()
        if self.http is not None:
            await self.http.aclose()

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10.0)
            except TimeoutError:
                await super().kill()
        self._reader.cancel()
        if self.http is not None:
            await self.http.aclose()


@dataclass
class Lab:
    """The simulator, the files the execution process needs, and how to start it."""

    sim: SimServer
    workdir: Path
    journal: str  # a SQLite path or a PostgreSQL DSN
    keys: list[str]
    limits: dict[str, Any] = field(default_factory=dict)
    starts: int = 0
    _store: Any = None
    #: "script": exec_child.py (the engine alone); "service": exec_service_child.py
    #: (the execution service, ``build(settings, deps)``, on Kafka)
    mode: str = "script"
    kafka: str | None = None
    group: str = ""
    publisher: Any = None
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def strategy(self, name: str) -> str:
        """``name`` of this lab's run: kill switches on the shared control topic are kept
        per strategy, and one lab's flatten must not halt the next lab's strategy."""
        return f"{name}-{self.run}"

    def publish_intent(self, intent: dict[str, Any], sequence: int) -> None:
        """``intent`` on ``orders.intents`` (keyed by strategy, as a strategy would)."""
        msg = IntentMessage(intent_from(intent), sequence, self.sim.clock.now_ns())
        self.publisher.publish(topics.INTENTS.name, f"{self.group}-{intent['strategy']}",
                               codecs.encode_intent(msg))  # fmt: skip
        self.publisher.flush(10)

    def user_id(self) -> str:
        return self.sim.config.user_id

    def journaled(self, client_order_id: str) -> list[str]:
        """The statuses the journal holds for ``client_order_id`` (read from outside)."""
        if self._store is None:
            if self.journal.startswith(("postgresql://", "postgres://")):
                self._store = PostgresStore(self.journal).open()
            else:
                self._store = SqliteRelationalStore(self.journal).open()
        events = self._store.list_order_events(100, client_order_id)
        return [e.status.name for e in reversed(events)]

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    async def start_child(self, ready_timeout: float = 120.0) -> tuple[EngineChild, dict[str, Any]]:
        """Start the execution process and wait for its recovery report."""
        self.starts += 1
        offset = self.sim.clock.now_ns() - time.time_ns()
        cfg = {
            "kafka": self.kafka,
            "intents_group": self.group,
            "api_port": free_port(),
            "key_file": str(self.workdir / "key"),
            "api_base": self.sim.base_url,
            "token_file": str(self.workdir / "token"),
            "instruments_file": str(self.workdir / "instruments.json"),
            "journal": self.journal,
            "algo": ALGO,
            "clock_offset_ns": offset,
            "limits": self.limits,
        }
        cfg_path = self.workdir / "child.json"
        cfg_path.write_text(json.dumps(cfg))
        log_path = self.workdir / "child.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "services"), str(ROOT / "operator"), os.environ.get("PYTHONPATH", "")]
        )}  # fmt: skip
        with log_path.open("a") as log:
            log.write(f"\n==== start {self.starts}\n")
            log.flush()
            script = SERVICE_CHILD if self.mode == "service" else CHILD
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(script), str(cfg_path),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
                env=env,
            )  # fmt: skip
        child = (
            ServiceChild(proc, log_path, self)
            if self.mode == "service"
            else EngineChild(proc, log_path)
        )
        try:
            ready = await asyncio.wait_for(asyncio.shield(child.ready), ready_timeout)
            await child.started(ready)
        except BaseException:
            await child.kill()
            raise
        return child, dict(ready["report"])

    def log_tail(self, chars: int = 4000) -> str:
        path = self.workdir / "child.log"
        return path.read_text()[-chars:] if path.exists() else ""

    def sim_day(self) -> date:
        """The simulated trading day (IST)."""
        return ns_to_datetime(self.sim.clock.now_ns(), IST).date()

    def sim_positions(self) -> dict[str, int]:
        net = self.sim.state.engine.net_positions(self.user_id())
        return {f"{k}#{p}": q for (k, p), q in net.items() if q}

    def sim_orders_by_tag(self) -> Counter[str]:
        return Counter(o.tag or "" for o in self.sim.state.engine.orders.values())

    def sim_open_orders(self) -> int:
        live = (
            "open",
            "trigger pending",
            "after market order req received",
            "put order req received",
        )
        return sum(1 for o in self.sim.state.engine.orders.values() if o.status in live)


@contextlib.asynccontextmanager
async def lab(
    journal: str | None = None, instruments: int = 12, kafka: str | None = None
) -> AsyncIterator[Lab]:
    """A running simulator (open market, real rate limits) and a work directory; with
    ``kafka`` the execution service runs (intents and ticks on that Kafka), else the
    engine-only script."""
    cfg = SimConfig(start=trading_start(), speed=1.0, step_interval=0.25, ping_interval=None)
    with tempfile.TemporaryDirectory(prefix="exec-trials-") as tmp:
        work = Path(tmp)
        async with SimServer(cfg) as sim:
            keys = liquid_equities(sim, instruments)
            wanted = set(keys)
            rows = [
                r for r in sim.state.universe.exchange_rows("NSE") if r["instrument_key"] in wanted
            ]
            (work / "instruments.json").write_text(json.dumps(rows))
            token = work / "token"
            token.write_text(sim.mint_token())
            token.chmod(0o600)
            the_lab = Lab(sim, work, journal or str(work / "journal.sqlite"), keys)
            if kafka is None:
                try:
                    yield the_lab
                finally:
                    the_lab.close()
                return
            the_lab.mode, the_lab.kafka = "service", kafka
            the_lab.group = f"exec-trials-{uuid.uuid4().hex[:10]}"
            bus = KafkaBus(kafka, client_id="exec-trials-harness")
            bus.ensure_topics(topics.ALL_TOPICS)
            await asyncio.to_thread(pin_group_at_end, kafka, the_lab.group, topics.INTENTS.name)
            the_lab.publisher = bus.publisher()
            # the feeder reads quotes as a user of its own: the simulator limits each user
            # to 500 requests a minute and 2,000 per 30 minutes, as Upstox does
            feeder = asyncio.create_task(feed_ticks(the_lab, sim.mint_token("FEEDER")))
            try:
                yield the_lab
            finally:
                feeder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feeder
                the_lab.publisher.close()
                the_lab.close()


def pin_group_at_end(bootstrap: str, group: str, topic: str) -> None:
    """Commit ``group``'s offsets at the end of ``topic``: the service then reads only
    the intents published from now on (the topic is shared by a test session)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    deadline = time.monotonic() + 60.0
    try:
        while True:
            try:
                meta = c.list_topics(topic, timeout=30)
                ends = []
                for p in meta.topics[topic].partitions:
                    _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
                    ends.append(TopicPartition(topic, p, high))
                c.commit(offsets=ends, asynchronous=False)
                return
            except KafkaException:  # a topic just made: its leaders are still being elected
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        c.close()


async def feed_ticks(lab: Lab, token: str, every_s: float = 0.5) -> None:
    """The lab's instruments' quotes from the simulator, as ticks on Kafka (what the
    ingestor does in the platform: the service's risk quotes and marks come from them)."""
    from quant.bus.codec_marketdata import encode_tick
    from quant.upstox.config import RestConfig
    from quant.upstox.rest import UpstoxRestClient

    config = RestConfig(api_base=lab.sim.base_url, hft_base=lab.sim.base_url)
    async with UpstoxRestClient(lambda: token, config) as rest:
        while True:
            quotes = await rest.full_quotes(lab.keys)
            now = lab.sim.clock.now_ns()
            for q in quotes.values():
                tick = Tick(q.instrument_key, FeedMode.FULL, now, now, q.last_price,
                            volume=q.volume, depth=q.depth)  # fmt: skip
                lab.publisher.publish(topics.TICKS.name, q.instrument_key, encode_tick(tick))
            await asyncio.to_thread(lab.publisher.flush, 10)
            await asyncio.sleep(every_s)


def intent_from(raw: dict[str, Any]) -> OrderIntent:
    """The :class:`OrderIntent` of a :func:`make_intent` dict."""
    return OrderIntent(
        strategy=raw["strategy"],
        instrument_key=raw["instrument_key"],
        side=Side[raw["side"]],
        quantity=int(raw["quantity"]),
        order_type=OrderType[raw.get("order_type", "MARKET").replace("-", "_")],
        product=Product(raw.get("product", "I")),
        price=int(raw.get("price", 0)),
    )


async def settle_positions(
    lab: Lab, child: EngineChild, within_s: float
) -> tuple[bool, dict[str, int], dict[str, int]]:
    """Wait until the process's net positions equal the simulator's (or ``within_s``)."""
    deadline = time.monotonic() + within_s
    while True:
        ours = await child.positions()
        theirs = lab.sim_positions()
        if ours == theirs:
            return True, ours, theirs
        if time.monotonic() > deadline:
            return False, ours, theirs
        await asyncio.sleep(0.1)


@dataclass
class TrialRecord:
    n: int
    client_order_id: str
    lose_answer: bool
    dropped_stream: bool
    delay_s: float
    answered_before_kill: bool
    at_sim_at_kill: bool
    journaled_at_kill: tuple[str, ...]
    recovery: dict[str, Any]
    redelivered_status: str
    positions_equal: bool
    ours: dict[str, int]
    theirs: dict[str, int]
    #: from the restarted process being ready until it knew the redelivered intent
    redelivery_s: float = 0.0


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"min": ordered[0], "median": ordered[len(ordered) // 2], "max": ordered[-1]}


def kill_point(t: TrialRecord) -> str:
    """Where the kill landed on the path intent -> journal -> broker -> acknowledgement
    (an acknowledgement is any journaled state after PENDING_NEW: the place answer, or
    the order update or order book row that came first)."""
    if t.at_sim_at_kill:
        if t.answered_before_kill:
            return "at the broker, acknowledged"
        return "at the broker, not acknowledged"
    if t.journaled_at_kill:
        return "journaled, not at the broker"
    return "before the journal"


@dataclass
class TrialsResult:
    trials: list[TrialRecord]
    duplicate_tags: dict[str, int]  # accepted place commands per tag, where more than 1
    duplicate_orders: dict[str, int]  # orders per tag in the simulator's book, where more than 1
    places_at_sim: int
    seconds: float

    @property
    def mismatches(self) -> list[TrialRecord]:
        return [t for t in self.trials if not t.positions_equal]

    def summary(self) -> dict[str, Any]:
        kinds = Counter(kill_point(t) for t in self.trials)
        rec = Counter()
        for t in self.trials:
            for k in ("found_by_tag", "lost_before_send", "fills_applied"):
                rec[k] += int(t.recovery.get(k, 0) or 0)
        return {
            "trials": len(self.trials),
            "duplicates": len(self.duplicate_tags) + len(self.duplicate_orders),
            "position_mismatches": len(self.mismatches),
            "places_at_simulator": self.places_at_sim,
            "kill_points": dict(kinds),
            "lost_answers": sum(t.lose_answer for t in self.trials),
            "dropped_streams": sum(t.dropped_stream for t in self.trials),
            "journal_at_kill": dict(
                Counter("/".join(t.journaled_at_kill) or "nothing" for t in self.trials)
            ),
            "recovery_totals": dict(rec),
            # restarts whose own reconciliation (RecoveryReport) found positions that
            # differ from the broker's
            "redelivery_s": _spread([t.redelivery_s for t in self.trials]),
            "recoveries_reporting_position_mismatches": sum(
                1 for t in self.trials if t.recovery.get("position_mismatches")
            ),
            "seconds": round(self.seconds, 1),
        }


def make_intent(strategy: str, key: str, side: str, qty: int, price: int = 0) -> dict[str, Any]:
    """An intraday intent as the execution process's ``submit`` takes it (LIMIT if priced)."""
    return {
        "strategy": strategy,
        "instrument_key": key,
        "side": side,
        "quantity": qty,
        "order_type": "LIMIT" if price else "MARKET",
        "price": price,
        "product": "I",
    }


def _random_intent(rng: random.Random, lab: Lab, held: dict[str, int]) -> dict[str, Any]:
    key = rng.choice(lab.keys)
    have = held.get(f"{key}#I", 0)
    side = "SELL" if have > 0 and rng.random() < 0.4 else "BUY"
    qty = rng.randint(1, min(5, have)) if side == "SELL" else rng.randint(1, 5)
    return make_intent(lab.strategy(STRATEGY), key, side, qty)


async def run_kill_trials(
    lab: Lab,
    trials: int,
    seed: int,
    *,
    lose_probability: float = 0.3,
    drop_stream_probability: float = 0.5,
    settle_timeout: float = 15.0,
    progress: Any = None,
) -> TrialsResult:
    """The kill/restart trials described in the module docstring; in
    ``drop_stream_probability`` of the trials with a lost answer the portfolio stream is
    dropped too, so that nothing but the order book (by tag) can tell what happened."""
    rng = random.Random(seed)
    started = time.monotonic()
    child, report = await lab.start_child()
    records: list[TrialRecord] = []
    try:
        # calibrate: how long intent -> acknowledgement takes here (kills are drawn around it)
        sequence = 1
        warm = _random_intent(rng, lab, {})
        t0 = time.perf_counter()
        await _placed(lab, child.submit(warm, sequence), len(lab.sim.state.engine.orders) + 1)
        ack_s = time.perf_counter() - t0
        for n in range(1, trials + 1):
            sequence += 1
            intent = _random_intent(rng, lab, lab.sim_positions())
            lose = rng.random() < lose_probability
            hold = rng.uniform(0.3, 1.5)
            drop = lose and rng.random() < drop_stream_probability
            if lose:
                lab.sim.lose_order_answers(1, hold_seconds=hold)
            if drop:  # no order update either: only the order book can tell
                lab.sim.drop_portfolio_streams()
            window = (hold + 0.2) if lose else max(3 * ack_s, 0.05)
            delay = rng.uniform(0.0, window)
            before = len(lab.sim.state.engine.orders)
            child.submit(intent, sequence)
            await asyncio.sleep(delay)
            await child.kill()
            await asyncio.sleep(0.05)  # a request already on the wire is still handled
            at_sim = len(lab.sim.state.engine.orders) > before
            cid = client_order_id(lab.strategy(STRATEGY), lab.sim_day(), sequence)
            journaled = tuple(lab.journaled(cid))
            answered = any(st != "PENDING_NEW" for st in journaled)  # acknowledged
            lab.sim.state.faults.held_order_answers = 0
            child, report = await lab.start_child()
            again = child.submit(intent, sequence)  # redelivered (Kafka redelivers too)
            if again is not None:
                await asyncio.wait_for(again, 60.0)
            t_ready = time.monotonic()
            # after a SIGKILL the dead consumer holds the intents partition until its
            # Kafka session times out (10 s): the redelivery can take that long
            status = await _known(child, cid, max(settle_timeout, 60.0))
            redelivery_s = time.monotonic() - t_ready
            ok, ours, theirs = await settle_positions(lab, child, settle_timeout)
            records.append(
                TrialRecord(n, cid, lose, drop, round(delay, 4), answered, at_sim,
                            journaled, report, status, ok, ours, theirs,
                            round(redelivery_s, 2))
            )  # fmt: skip
            if progress is not None:
                progress(records[-1])
    finally:
        await child.stop()
    per_tag = lab.sim.state.order_log.accepted_places_by_tag()
    in_book = lab.sim_orders_by_tag()
    return TrialsResult(
        trials=records,
        duplicate_tags={t: c for t, c in per_tag.items() if c > 1},
        duplicate_orders={t: c for t, c in in_book.items() if c > 1},
        places_at_sim=sum(per_tag.values()),
        seconds=time.monotonic() - started,
    )


async def _placed(lab: Lab, answer: asyncio.Future[Any] | None, orders: int) -> None:
    """Wait for the answer (if any) and until the simulator holds ``orders`` orders."""
    if answer is not None:
        await asyncio.wait_for(answer, 60.0)
    deadline = time.monotonic() + 60.0
    while len(lab.sim.state.engine.orders) < orders:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the first intent never reached the simulator; the end of the execution "
                f"process's log:\n{lab.log_tail()}"
            )
        await asyncio.sleep(0.002)


async def _known(child: EngineChild, cid: str, within_s: float) -> str:
    """The status of ``cid`` once the process knows it (the redelivery was handled)."""
    deadline = time.monotonic() + within_s
    while True:
        status = await child.status_of(cid)
        if status != "unknown" or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.05)


def utc_today() -> str:
    return datetime.now(UTC).date().isoformat()


@dataclass
class BurstResult:
    intents: int
    send_seconds: float  # how long sending the intents took (the burst)
    drain_seconds: float  # until the last order was placed at the simulator
    accepted: int
    rejected: Counter[str]
    places_at_sim: int
    max_in_1s: int  # order commands in the densest 1 s window at the simulator
    refused_429: int

    def summary(self) -> dict[str, Any]:
        return {
            "intents": self.intents,
            "sent_in_s": round(self.send_seconds, 3),
            "all_placed_in_s": round(self.drain_seconds, 2),
            "accepted": self.accepted,
            "rejected": dict(self.rejected),
            "places_at_simulator": self.places_at_sim,
            "max_orders_in_any_1s": self.max_in_1s,
            "http_429": self.refused_429,
        }


async def run_burst(lab: Lab, intents: int = 100, within_s: float = 1.0) -> BurstResult:
    """``intents`` MARKET intents sent within ``within_s``; the simulator's log is read."""
    child, _ = await lab.start_child()
    try:
        await asyncio.sleep(1.1)  # an empty rate window to start from
        lab.sim.state.order_log.clear()
        answers = []
        t0 = time.monotonic()
        for i in range(intents):
            intent = make_intent(lab.strategy("burst"), lab.keys[i % len(lab.keys)], "BUY", 1)
            answers.append(child.submit(intent, i + 1))
            await asyncio.sleep(max(0.0, t0 + (i + 1) * within_s / intents - time.monotonic()))
        sent = time.monotonic() - t0
        await asyncio.wait_for(asyncio.gather(*(a for a in answers if a is not None)), 180.0)
        log = lab.sim.state.order_log
        deadline = time.monotonic() + intents / 10 + 30.0  # queued sends go out at 10/s
        while time.monotonic() < deadline:
            if sum(log.accepted_places_by_tag().values()) >= intents:
                break
            await asyncio.sleep(0.05)
        drained = time.monotonic() - t0
        statuses = await child.statuses()
    finally:
        await child.stop()
    rejected: Counter[str] = Counter(
        {"REJECTED": statuses["REJECTED"]} if statuses["REJECTED"] else {}
    )
    return BurstResult(
        intents=intents,
        send_seconds=sent,
        drain_seconds=drained,
        accepted=intents - sum(rejected.values()),
        rejected=rejected,
        places_at_sim=sum(log.accepted_places_by_tag().values()),
        max_in_1s=log.max_in_window(1.0),
        refused_429=log.refused(429),
    )


@dataclass
class FlattenResult:
    open_orders: int
    positions: int
    engine_seconds: float  # kill switch flatten sent -> simulator flat with nothing open
    engine_answer_seconds: float  # until request_kill returned in the execution process
    direct_seconds: float  # the same cancels and closes straight through the Upstox client
    engine_commands: int  # order commands the engine sent for it
    left_open: int
    left_positions: dict[str, int]

    def summary(self) -> dict[str, Any]:
        return {
            "open_orders": self.open_orders,
            "positions": self.positions,
            "flatten_s": round(self.engine_seconds, 3),
            "request_kill_returned_s": round(self.engine_answer_seconds, 3),
            "direct_client_s": round(self.direct_seconds, 3),
            "ratio": round(self.engine_seconds / self.direct_seconds, 2)
            if self.direct_seconds
            else None,
            "engine_order_commands": self.engine_commands,
            "left_open": self.left_open,
            "left_positions": self.left_positions,
        }


def _resting_price(lab: Lab, key: str) -> int:
    """Paise: the lower circuit limit, far under the market (a BUY rests there)."""
    m = lab.sim.market
    return int(m.circuit_lo[lab.sim.state.universe.index_of[key]])


async def _timed(step: Any) -> float:
    t0 = time.monotonic()
    await step
    return time.monotonic() - t0


async def _until_flat(lab: Lab, within_s: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < within_s:
        if lab.sim_open_orders() == 0 and not lab.sim_positions():
            break
        await asyncio.sleep(0.005)
    return time.monotonic() - t0


async def run_flatten(lab: Lab, open_orders: int = 20, positions: int = 10) -> FlattenResult:
    """Kill switch flatten with ``open_orders`` resting orders and ``positions`` positions,
    then the same cancels and closes sent straight through ``UpstoxRestClient``."""
    from quant.upstox import models as m
    from quant.upstox.config import RestConfig
    from quant.upstox.rest import UpstoxRestClient

    assert len(lab.keys) >= positions
    child, _ = await lab.start_child()
    try:
        await _setup_book(lab, child, open_orders, positions)
        await asyncio.sleep(1.1)
        log = lab.sim.state.order_log
        mark = len(log.entries)
        t0 = time.monotonic()
        answer = asyncio.create_task(_timed(child.kill_switch("flatten", lab.strategy("flat"))))
        await _until_flat(lab, 120.0)
        engine_s = time.monotonic() - t0
        answered = await asyncio.wait_for(answer, 60.0)
        engine_commands = sum(1 for e in log.entries[mark:] if e.status == 200)
        left_open, left_pos = lab.sim_open_orders(), lab.sim_positions()
    finally:
        await child.stop()

    # reference: the same book again, then 20 cancels + 10 closing orders, no engine (from
    # an empty rate window: the client's limiter cannot know what the engine just sent)
    await asyncio.sleep(1.1)
    token = (lab.workdir / "token").read_text().strip()
    async with UpstoxRestClient(lambda: token, RestConfig(api_base=lab.sim.base_url,
                                                          hft_base=lab.sim.base_url,
                                                          algo_name=ALGO)) as rest:  # fmt: skip
        ids = []
        for i in range(positions):
            await rest.place_order(_wire(m, lab.keys[i], "BUY", 1 + i, 0), algo_name=ALGO)
        for i in range(open_orders):
            key = lab.keys[i % len(lab.keys)]
            ack = await rest.place_order(
                _wire(m, key, "BUY", 1, _resting_price(lab, key)), algo_name=ALGO
            )
            ids.extend(ack.order_ids)
        await asyncio.sleep(1.1)
        closes = [(k.split("#")[0], q) for k, q in lab.sim_positions().items()]
        t0 = time.monotonic()
        await asyncio.gather(
            *(rest.cancel_order(oid) for oid in ids),
            *(rest.place_order(_wire(m, k, "SELL" if q > 0 else "BUY", abs(q), 0), algo_name=ALGO)
              for k, q in closes),
        )  # fmt: skip
        await _until_flat(lab, 120.0)
        direct_s = time.monotonic() - t0
    return FlattenResult(open_orders, positions, engine_s, answered, direct_s, engine_commands,
                         left_open, left_pos)  # fmt: skip


def _wire(m: Any, key: str, side: str, qty: int, price: int) -> Any:
    return m.OrderRequest(
        instrument_key=key,
        quantity=qty,
        transaction_type=m.TransactionType(side),
        order_type=m.OrderType.LIMIT if price else m.OrderType.MARKET,
        product=m.Product("I"),
        validity=m.Validity("DAY"),
        price=price,
        trigger_price=0,
        tag=f"direct-{side}-{key[-6:]}-{qty}-{price}",
    )


async def _setup_book(lab: Lab, child: EngineChild, open_orders: int, positions: int) -> None:
    """``positions`` filled MARKET buys in distinct instruments and ``open_orders`` LIMIT
    buys resting at the lower circuit, through the execution process."""
    seq = 0
    answers = []
    for i in range(positions):
        seq += 1
        intent = make_intent(lab.strategy("flat"), lab.keys[i], "BUY", 1 + i)
        answers.append(child.submit(intent, seq))
    for i in range(open_orders):
        seq += 1
        key = lab.keys[i % len(lab.keys)]
        intent = make_intent(lab.strategy("flat"), key, "BUY", 1, _resting_price(lab, key))
        answers.append(child.submit(intent, seq))
    await asyncio.wait_for(asyncio.gather(*(a for a in answers if a is not None)), 120.0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lab.sim_open_orders() == open_orders and len(lab.sim_positions()) == positions:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(
        f"book not set up: {lab.sim_open_orders()} open, {lab.sim_positions()}; the "
        f"execution process has {dict(await child.statuses())}"
    )
