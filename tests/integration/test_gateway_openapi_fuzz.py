"""schemathesis against the gateway's OpenAPI, with and without keys: no 5xx, and no write
accepted without a key.

The gateway and the execution API behind it are real, served by uvicorn on free ports of
127.0.0.1 in a thread of their own: a real engine (paper broker, journal in SQLite, the
in-process bus for its events), the user store with an ``admin`` key, and an embedded
tick store with a day of candles and a scanner cycle (the candles and scanner endpoints).
schemathesis reads ``/openapi.json`` from the running gateway and sends what it generates
from it (valid and invalid requests) to every operation over HTTP:

- without a key (any ``Authorization`` it generated is taken out): no 5xx; no write
  (POST/PUT/PATCH/DELETE) answers 2xx, and the engine has no order and no kill switch;
- with the admin key (every role): no 5xx, and every status and body is one the OpenAPI
  documents for the operation.

Examples are bounded (``MAX_EXAMPLES`` per operation and mode) to keep CI short.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from quant.bus.inprocess import InProcessBus
from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.core.control import KillSwitch
from quant.core.events import Candle, ScannerSuggestion
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.execution.adapters import BusEventPublisher, StoreJournal
from quant.execution.api import create_app as execution_app
from quant.execution.engine import ExecutionEngine
from quant.execution.paper_broker import PaperBroker
from quant.gateway.app import create_app as gateway_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.execution_client import ExecutionClient
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings
from quant.runtime.http_server import EmbeddedServer, embedded_server, wait_started
from quant.store.columns import candle_batch, suggestion_batch
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.store.sqlite_ticks import SqliteTickStore
from quant.trading.paper import PaperConfig
from quant.trading.ratelimit import OrderRateLimiter, RateMode
from quant.trading.risk_limits import RiskLimits
from quant.users.roles import Role
from users_kit import directory_on

MAX_EXAMPLES = 25
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOW = datetime_to_ns(datetime(2026, 12, 9, 10, 0, tzinfo=IST))  # a normal NSE session
REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY, tick_size_paise=10,
)  # fmt: skip


def _tick_store() -> SqliteTickStore:
    """Minutes of RELIANCE's session of NOW and one scanner cycle."""
    ticks = SqliteTickStore(":memory:").open()
    open_ns = datetime_to_ns(datetime(2026, 12, 9, 9, 15, tzinfo=IST))
    minutes = [
        Candle(REL.instrument_key, 60, open_ns + i * 60 * 10**9, 250_000 + i, 250_100 + i,
               249_900 + i, 250_050 + i, 100 + i)
        for i in range(45)
    ]  # fmt: skip
    ticks.write(candle_batch(minutes))
    pick = ScannerSuggestion(
        REL.instrument_key, "RELIANCE", NOW, 1, 1.5, ("+1.8% vs NIFTY",), 250_000,
        signals=(("orb", 1.0), ("gap", float("nan"))),
    )  # fmt: skip
    ticks.write(suggestion_batch([pick]))
    return ticks


class RecordedControl:
    """The kill switches the engine published (the bus adapter is tested elsewhere)."""

    def __init__(self) -> None:
        self.commands: list[KillSwitch] = []

    async def publish(self, command: KillSwitch) -> None:
        self.commands.append(command)


class Platform:
    """The gateway and the execution API, served from an event loop in a thread."""

    def __init__(self) -> None:
        self.store = SqliteRelationalStore(":memory:").open()
        self.ticks = _tick_store()
        self.users = directory_on(self.store)
        self.admin = self.users.create_user("admin", Role.ADMIN).text
        self.control = RecordedControl()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers: list[EmbeddedServer] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.url = ""
        self.engine: ExecutionEngine | None = None
        self.keyed = False
        self.schema: Any = None

    def run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=30)

    async def _serve(self, app: Any) -> int:
        server = embedded_server(app, "127.0.0.1", 0)
        task = asyncio.get_running_loop().create_task(server.serve())
        await wait_started(server, task)
        self.servers.append(server)
        self.tasks.append(task)
        return server.bound_port

    async def _start(self) -> None:
        clock = FakeClock(NOW)  # fixed: the rate limiter's window never moves on (reject mode)
        self.engine = ExecutionEngine(
            clock=clock,
            broker=PaperBroker(clock, PaperConfig()),
            journal=StoreJournal(self.store),
            publisher=BusEventPublisher(InProcessBus().publisher()),
            control=self.control,
            instruments={REL.instrument_key: REL}.get,
            limits=RiskLimits(),
            limiter=OrderRateLimiter(mode=RateMode.REJECT),
            mode="paper",
        )
        await self.engine.recover()
        port = await self._serve(execution_app(self.engine, self.users, clock=clock))
        self.client = ExecutionClient(f"http://127.0.0.1:{port}", timeout_s=10.0)
        ports = GatewayPorts(
            LiveMarketState(),
            InstrumentIndex.build([REL]),
            clock=clock,
            users=self.users,
            execution=self.client,
            history=self.ticks,
        )
        self.url = f"http://127.0.0.1:{await self._serve(gateway_app(GatewaySettings(), ports))}"

    async def _stop(self) -> None:
        for server in self.servers:
            server.should_exit = True
        await asyncio.wait(self.tasks, timeout=10)
        await self.client.aclose()

    def __enter__(self) -> Platform:
        self.thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
        self.store.close()
        self.ticks.close()

    def written(self) -> tuple[int, int]:
        """Orders the engine holds and kill switches it published."""
        assert self.engine is not None
        return len(self.engine.orders(10_000)), len(self.control.commands)


def _operations() -> list[tuple[str, str]]:
    """Every (path, method) of the gateway's OpenAPI, read from the app itself."""
    app = gateway_app(GatewaySettings(), GatewayPorts(LiveMarketState(), InstrumentIndex.build([])))
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return [(path, method.upper()) for path, item in paths.items() for method in item]


OPERATIONS = _operations()
KEYED = "with the admin key"
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)


@pytest.fixture(scope="module", params=["without a key", KEYED])
def platform(request: pytest.FixtureRequest) -> Iterator[Platform]:
    """One platform per mode: the one without keys must see no write at all."""
    with Platform() as p:
        p.keyed = request.param == KEYED
        p.schema = schemathesis.openapi.from_url(f"{p.url}/openapi.json")
        yield p


def _without_key(case: Any) -> None:
    headers = case.headers or {}
    for name in [h for h in headers if h.lower() == "authorization"]:
        del headers[name]


def _unkeyed(platform: Platform, case: Any) -> None:
    _without_key(case)
    response = case.call(base_url=platform.url)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if case.method.upper() in WRITES:
        assert not 200 <= response.status_code < 300, (case.method, case.path)
        assert response.status_code in (401, 404, 405, 422), response.status_code
    assert platform.written() == (0, 0)


def _keyed(platform: Platform, case: Any) -> None:
    key = {"Authorization": f"Bearer {platform.admin}"}
    response = case.call(base_url=platform.url, headers=key)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    case.validate_response(response, checks=[status_code_conformance, response_schema_conformance])


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_no_5xx_and_no_write_without_a_key(platform: Platform, path: str, method: str) -> None:
    """Valid and invalid requests generated from the OpenAPI of the running gateway."""
    operation = platform.schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    check = _keyed if platform.keyed else _unkeyed

    @FUZZ
    @given(case=cases)
    def fuzz(case: Any) -> None:
        check(platform, case)

    fuzz()
