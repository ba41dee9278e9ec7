"""The gateway's trading endpoints against the real execution API, over real HTTP.

Both apps are served by uvicorn on free ports of 127.0.0.1; the gateway forwards through
its :class:`~quant.gateway.execution_client.ExecutionClient`. Behind the execution API is
a real :class:`~quant.execution.engine.ExecutionEngine` with the paper broker, its
journal the relational store's ``executed_orders`` (SQLite; and, marked ``integration``,
a brand-new PostgreSQL database) and its events and kill switches on the in-process bus.
Users and keys are the same store's. The engine's clock stands at 10:00 IST on a
trading day, the market is one tick of depth fed to the engine and the paper broker.

What a user sees: 503 while the engine recovers; a manual order by symbol fills on paper
and shows in ``/api/v1/trades`` with its charges, in orders, positions and P&L; a refused
one is 422 with its reason code; cancel is 200 then 409, 404 for an unknown id; the kill
switch halts (orders then refused ``HALTED``) and resumes; with the execution service
stopped the gateway answers 503, not 500.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from conftest import require
from quant.bus.inprocess import InProcessBus
from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.execution.adapters import BusControlPublisher, BusEventPublisher, StoreJournal
from quant.execution.api import create_app as execution_app
from quant.execution.engine import ExecutionEngine
from quant.execution.paper_broker import PaperBroker
from quant.gateway.app import create_app as gateway_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.execution_client import ExecutionClient
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings
from quant.runtime.http_server import EmbeddedServer, embedded_server, wait_started
from quant.store.ports import RelationalStore
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.trading.paper import PaperConfig
from quant.trading.ratelimit import OrderRateLimiter
from quant.trading.risk_limits import RiskLimits
from quant.users.roles import Role
from users_kit import directory_on

NOW = datetime_to_ns(datetime(2026, 12, 9, 10, 0, tzinfo=IST))  # a normal NSE session
REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY, tick_size_paise=10,
)  # fmt: skip
BID, ASK = 249_990, 250_010  # 2499.90 / 2500.10
BUY_AT_MARKET = {"symbol": "RELIANCE", "side": "BUY", "quantity": 10, "order_type": "MARKET",
                 "product": "I"}  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Iterator[RelationalStore]:
    if request.param == "sqlite":
        s: RelationalStore = SqliteRelationalStore(":memory:").open()
    else:
        try:
            dsn = request.getfixturevalue("fresh_postgres_dsn")
        except pytest.FixtureLookupError:
            require(False, "the fresh_postgres_dsn fixture is not available")
        from quant.store.postgres import PostgresStore

        s = PostgresStore(dsn).open()
    yield s
    s.close()


class Stack:
    """The two servers, the engine and its broker, and a client of the gateway."""

    def __init__(self, store: RelationalStore) -> None:
        self.clock = FakeClock(NOW)
        self.broker = PaperBroker(self.clock, PaperConfig())
        bus = InProcessBus()
        self.engine = ExecutionEngine(
            clock=self.clock,
            broker=self.broker,
            journal=StoreJournal(store),
            publisher=BusEventPublisher(bus.publisher()),
            control=BusControlPublisher(bus.publisher()),
            instruments={REL.instrument_key: REL}.get,
            limits=RiskLimits(),
            limiter=OrderRateLimiter(),
            mode="paper",
        )
        self.users = directory_on(store)
        self.trader = {
            "Authorization": f"Bearer {self.users.create_user('tara', Role.TRADER).text}"
        }
        self.viewer = {
            "Authorization": f"Bearer {self.users.create_user('vera', Role.VIEWER).text}"
        }
        self.execution: EmbeddedServer | None = None
        self.execution_task: asyncio.Task[None] | None = None
        self.gateway: httpx.AsyncClient | None = None

    def tick(self) -> None:
        now = self.clock.now_ns()
        tick = Tick(REL.instrument_key, FeedMode.FULL, now, now, (BID + ASK) // 2,
                    depth=(DepthLevel(BID, 500, ASK, 500),))  # fmt: skip
        self.engine.on_tick(tick)
        self.broker.on_tick(tick)

    async def follow_broker(self) -> None:
        async for update in self.broker.updates():
            await self.engine.on_broker_update(update)


async def _serve(app: Any, tg: asyncio.TaskGroup) -> tuple[EmbeddedServer, asyncio.Task[None]]:
    server = embedded_server(app, "127.0.0.1", 0)
    task = tg.create_task(server.serve())
    await wait_started(server, task)
    return server, task


@contextlib.asynccontextmanager
async def _running(store: RelationalStore) -> AsyncIterator[Stack]:
    stack = Stack(store)
    async with asyncio.TaskGroup() as tg:
        execution, stack.execution_task = await _serve(
            execution_app(stack.engine, stack.users, clock=stack.clock), tg
        )
        client = ExecutionClient(f"http://127.0.0.1:{execution.bound_port}", timeout_s=10.0)
        ports = GatewayPorts(
            LiveMarketState(), InstrumentIndex.build([REL]), users=stack.users, execution=client
        )
        gateway, _ = await _serve(gateway_app(GatewaySettings(), ports), tg)
        follower = tg.create_task(stack.follow_broker())
        stack.execution = execution
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{gateway.bound_port}", timeout=10.0
            ) as http:
                stack.gateway = http
                yield stack
        finally:
            follower.cancel()
            execution.should_exit = gateway.should_exit = True
            await client.aclose()


async def _eventually(probe: Callable[[], Any], what: str, timeout_s: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.02)


async def test_a_manual_order_through_the_gateway_fills_on_paper_with_charges(
    store: RelationalStore,
) -> None:
    async with _running(store) as stack:
        http = stack.gateway
        assert http is not None
        # before recovery: the execution service says so, through the gateway
        r = await http.get("/api/v1/orders", headers=stack.viewer)
        assert r.status_code == 503, r.text
        assert "recovering" in r.json()["detail"]
        await stack.engine.recover()
        stack.tick()

        r = await http.post("/api/v1/orders", json=BUY_AT_MARKET, headers=stack.trader)
        assert r.status_code == 201, r.text
        cid = r.json()["client_order_id"]
        assert cid == "manual-261209-1"
        stack.broker.on_time()  # the paper latency (0) elapses: the order walks the book

        async def traded() -> list[dict[str, Any]]:
            return (await http.get("/api/v1/trades", headers=stack.viewer)).json()

        (trade,) = await _eventually(traded, "the paper fill in /api/v1/trades")
        assert (trade["client_order_id"], trade["side"], trade["quantity"]) == (cid, "BUY", 10)
        assert trade["price"] == "2500.10"  # the best ask: from the book, not the LTP
        assert trade["value"] == "25001.00"
        charges = trade["charges"]
        assert charges["total"] != "0.00" and charges["stamp"] != "0.00"  # buy side pays stamp
        (order,) = (await http.get("/api/v1/orders", headers=stack.viewer)).json()
        assert (order["status"], order["mode"], order["reason"]) == ("FILLED", "paper", "")
        assert order["submitted_at"].endswith("Z") and order["average_price"] == "2500.10"
        (position,) = (await http.get("/api/v1/positions", headers=stack.viewer)).json()
        assert (position["quantity"], position["strategy"]) == (10, "manual")
        pnl = (await http.get("/api/v1/pnl", headers=stack.viewer)).json()
        assert pnl["charges"] == charges["total"]
        assert pnl["state"] == {"account": "ACTIVE", "strategies": {}}
        # the journal has every state change of it (newest first), in the store of the keys
        statuses = [e.status.name for e in store.list_order_events(10, cid)]
        assert statuses[0] == "FILLED" and statuses[-1] == "PENDING_NEW"


async def test_refusals_cancel_kill_switch_and_a_stopped_execution_service(
    store: RelationalStore,
) -> None:
    async with _running(store) as stack:
        http = stack.gateway
        assert http is not None
        await stack.engine.recover()
        stack.tick()
        off_tick = BUY_AT_MARKET | {"order_type": "LIMIT", "price": "2400.05"}
        r = await http.post("/api/v1/orders", json=off_tick, headers=stack.trader)
        assert r.status_code == 422
        assert r.json()["detail"]["code"] == "TICK_SIZE"
        assert r.json()["detail"]["message"] == (
            "price ₹2400.05 is not a multiple of the tick size ₹0.10"
        )
        r = await http.post("/api/v1/orders", json=BUY_AT_MARKET, headers=stack.viewer)
        assert r.status_code == 403

        resting = BUY_AT_MARKET | {"order_type": "LIMIT", "price": "2400.00"}
        r = await http.post("/api/v1/orders", json=resting, headers=stack.trader)
        assert r.status_code == 201, r.text
        cid = r.json()["client_order_id"]
        r = await http.delete(f"/api/v1/orders/{cid}", headers=stack.trader)
        assert r.status_code == 200, r.text
        assert r.json()["status"] in ("CANCEL_PENDING", "CANCELLED")
        stack.broker.on_time()

        async def cancelled() -> bool:
            orders = (await http.get("/api/v1/orders", headers=stack.viewer)).json()
            return any(o["client_order_id"] == cid and o["status"] == "CANCELLED" for o in orders)

        await _eventually(cancelled, "the paper broker's cancel")
        again = await http.delete(f"/api/v1/orders/{cid}", headers=stack.trader)
        assert again.status_code == 409
        unknown = await http.delete("/api/v1/orders/manual-261209-77", headers=stack.trader)
        assert unknown.status_code == 404

        r = await http.post("/api/v1/killswitch", json={"action": "halt"}, headers=stack.trader)
        assert (r.status_code, r.json()) == (200, {"account": "HALTED", "strategies": {}})
        r = await http.post("/api/v1/orders", json=BUY_AT_MARKET, headers=stack.trader)
        assert (r.status_code, r.json()["detail"]["code"]) == (422, "HALTED")
        r = await http.post("/api/v1/killswitch", json={"action": "resume"}, headers=stack.trader)
        assert r.json()["account"] == "ACTIVE"

        assert stack.execution is not None and stack.execution_task is not None
        stack.execution.should_exit = True
        await asyncio.wait_for(stack.execution_task, 10.0)  # the execution API has stopped
        r = await http.get("/api/v1/orders", headers=stack.viewer)
        assert r.status_code == 503, r.text
        assert "cannot be reached" in r.json()["detail"]
        r = await http.post("/api/v1/orders", json=BUY_AT_MARKET, headers=stack.trader)
        assert r.status_code == 503
