"""A small execution process for the kill trials: ``ExecutionEngine`` + the live Upstox
broker (``build_upstox_broker``) against the simulator, journal in SQLite or PostgreSQL.

Run by :mod:`trials_kit` as ``python exec_child.py CONFIG.json``; it is SIGKILLed at random
points and started again on the same journal. It speaks JSON lines: commands on stdin
(``{"id", "op": "submit"|"positions"|"orders"|"kill"|"exit", ...}``), answers on stdout
(``{"id", ...}``), and one ``{"op": "ready", "report": {...}}`` once ``recover()`` has
finished. Quotes (with circuit limits and depth) are polled from the simulator's REST API.
The engine's clock is the simulator's (wall clock + the offset the harness measured), so
market hours agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from quant.core.control import KillSwitch
from quant.core.events import FeedMode, Tick
from quant.core.orders import OrderEvent, OrderType, Side
from quant.store.postgres import PostgresStore
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.trading.intent import IntentMessage, OrderIntent, Product, Validity
from quant.trading.ratelimit import OrderRateLimiter
from quant.trading.risk_limits import RiskLimits
from quant.upstox.broker import build_upstox_broker
from quant.upstox.instruments import parse_master
from quant.upstox.settings import UpstoxSettings

log = logging.getLogger("exec_child")


class OffsetClock:
    """The simulator's clock, seen from this process: wall clock + a fixed offset."""

    def __init__(self, offset_ns: int) -> None:
        self._offset = offset_ns

    def now_ns(self) -> int:
        return time.time_ns() + self._offset


class StoreJournal:
    """``OrderJournal`` over a relational store (its calls are blocking: run in a thread)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    async def append(self, event: OrderEvent) -> None:
        await asyncio.to_thread(self._store.append_order_event, event)

    async def since(self, ts_init: int) -> list[OrderEvent]:
        events: list[OrderEvent] = await asyncio.to_thread(self._store.order_events_since, ts_init)
        return events


class Discard:
    """``EventPublisher`` / ``ControlPublisher`` that keeps nothing (no bus here)."""

    async def publish(self, item: OrderEvent | KillSwitch) -> None:
        return None


def _write(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def _intent(raw: dict[str, Any]) -> OrderIntent:
    return OrderIntent(
        strategy=raw["strategy"],
        instrument_key=raw["instrument_key"],
        side=Side[raw["side"]],
        quantity=int(raw["quantity"]),
        order_type=OrderType[raw.get("order_type", "MARKET").replace("-", "_")],
        product=Product(raw.get("product", "I")),
        price=int(raw.get("price", 0)),
        trigger_price=int(raw.get("trigger_price", 0)),
        validity=Validity(raw.get("validity", "DAY")),
    )


def _tick(q: Any, now_ns: int) -> Tick:
    return Tick(
        instrument_key=q.instrument_key,
        mode=FeedMode.FULL,
        ts_event=now_ns,
        ts_init=now_ns,
        ltp=q.last_price,
        volume=q.volume,
        depth=q.depth,
    )


class Child:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.clock = OffsetClock(int(cfg["clock_offset_ns"]))
        master = parse_master(Path(cfg["instruments_file"]).read_bytes())
        self.instruments = {i.instrument_key: i for i in master.instruments}
        self.keys = sorted(self.instruments)
        journal = cfg["journal"]
        if journal.startswith("postgresql://") or journal.startswith("postgres://"):
            self.store: Any = PostgresStore(journal).open()
        else:
            self.store = SqliteRelationalStore(journal).open()
        token_file = Path(cfg["token_file"])
        settings = UpstoxSettings(api_base=cfg["api_base"], hft_base=cfg["api_base"])
        self.rest, self.broker = build_upstox_broker(
            settings, lambda: token_file.read_text().strip(), live=True, algo_name=cfg["algo"]
        )
        self.engine: Any = None
        self.tasks: list[asyncio.Task[Any]] = []

    def build_engine(self) -> Any:
        from quant.execution.engine import ExecutionEngine

        return ExecutionEngine(
            clock=self.clock,
            broker=self.broker,
            journal=StoreJournal(self.store),
            publisher=Discard(),
            control=Discard(),
            instruments=self.instruments.get,
            limits=RiskLimits(**self.cfg.get("limits", {})),
            limiter=OrderRateLimiter(),
            mode="live",
            default_algo_name=self.cfg["algo"],
        )

    async def quotes(self) -> None:
        quotes = await self.rest.full_quotes(self.keys)
        now = self.clock.now_ns()
        for q in quotes.values():
            self.engine.set_circuit_limits(q.instrument_key, q.lower_circuit, q.upper_circuit)
            self.engine.on_tick(_tick(q, now))

    async def _every(self, seconds: float, step: Any) -> None:
        while True:
            try:
                result = step()
                if isinstance(result, Awaitable):
                    await result
            except Exception:
                log.exception("periodic %s failed", getattr(step, "__name__", step))
            await asyncio.sleep(seconds)

    async def _updates(self) -> None:
        async for update in self.broker.updates():
            await self.engine.on_broker_update(update)

    async def run(self) -> None:
        async with self.rest:
            self.engine = self.build_engine()
            await self.quotes()
            report = await self.engine.recover()
            self.tasks = [
                asyncio.create_task(self._updates()),
                asyncio.create_task(self._every(0.1, self.engine.on_time)),
                asyncio.create_task(self._every(0.5, self.quotes)),
            ]
            _write({"op": "ready", "report": dataclasses.asdict(report)})
            await self.commands()

    async def commands(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        pending: set[asyncio.Task[None]] = set()
        while True:
            line = await reader.readline()
            if not line:
                return
            cmd = json.loads(line)
            if cmd["op"] == "exit":
                _write({"id": cmd["id"]})
                return
            task = asyncio.create_task(self.answer(cmd))
            pending.add(task)
            task.add_done_callback(pending.discard)

    async def answer(self, cmd: dict[str, Any]) -> None:
        try:
            out = await self.handle(cmd)
        except Exception as e:  # the harness sees it and fails the trial
            log.exception("command %s failed", cmd.get("op"))
            out = {"error": f"{type(e).__name__}: {e}"}
        _write({"id": cmd["id"], **out})

    async def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd["op"]
        if op == "submit":
            msg = IntentMessage(_intent(cmd["intent"]), int(cmd.get("sequence", 0)),
                                self.clock.now_ns())  # fmt: skip
            sub = await self.engine.submit(msg)
            return {
                "client_order_id": sub.client_order_id,
                "orders": [[o.client_order_id, o.status.name] for o in sub.orders],
                "rejected": None if sub.rejected is None else str(sub.rejected.reason),
            }
        if op == "positions":
            net: dict[str, int] = {}
            for p in self.engine.positions():
                k = f"{p.key.instrument_key}#{p.key.product.value}"
                net[k] = net.get(k, 0) + p.net_quantity
            return {"positions": {k: v for k, v in net.items() if v}}
        if op == "orders":
            return {
                "orders": [
                    [o.client_order_id, o.status.name, getattr(o, "broker_order_id", "")]
                    for o in self.engine.orders(10_000)
                ]
            }
        if op == "kill":
            started = time.perf_counter()
            await self.engine.request_kill(cmd["action"], cmd.get("strategy", ""), "trials")
            return {"seconds": time.perf_counter() - started}
        raise ValueError(f"unknown op {op!r}")


def main() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    cfg = json.loads(Path(sys.argv[1]).read_text())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Child(cfg).run())


if __name__ == "__main__":
    main()
