"""Dependency probes: the board's readiness names a server that does not answer, the
watcher checks them while the services run, a store down at start-up is waited for.

The checks and stores are scripted fakes (what the servers answer); the board, the
watcher, the supervisor and ``open_store``/``load_instruments`` are the real ones. The
real servers are in ``tests/integration`` (QuestDB killed under the feature service,
PostgreSQL stopped under the gateway).
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry

from quant.core.clock import SystemClock
from quant.core.instruments import Instrument, InstrumentType
from quant.runtime.deps import Deps, StoreCatalog, load_instruments, open_store
from quant.runtime.probes import Dependency, probe_once, watch_dependencies
from quant.runtime.settings import ServiceSettings
from quant.runtime.status import StatusBoard
from quant.runtime.supervisor import run_services
from quant.store.ports import StoreError

INST = Instrument("NSE_EQ|X", "X", "X LTD", "NSE", "NSE_EQ", InstrumentType.EQUITY)


class Server:
    """A server that answers while ``up``."""

    def __init__(self, name: str = "PostgreSQL", up: bool = True) -> None:
        self.name = name
        self.up = up
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        if not self.up:
            raise StoreError("connection refused")


def test_a_down_dependency_makes_the_board_not_ready_naming_it_once_per_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    now = [0.0]
    board = StatusBoard(registry, monotonic=lambda: now[0])
    board.watch(Dependency("PostgreSQL", lambda: None))
    assert board.ready() == (True, [])
    gauge = {"dependency": "PostgreSQL"}
    with caplog.at_level(logging.INFO, logger="quant.runtime.status"):
        board.dependency_down("PostgreSQL", "connection refused")
        now[0] = 7.5
        board.dependency_down("PostgreSQL", "connection refused")  # still down: no new line
        ok, reasons = board.ready()
        assert not ok and reasons == ["PostgreSQL unavailable: connection refused"]
        assert registry.get_sample_value("quant_dependency_up", gauge) == 0
        board.dependency_up("PostgreSQL")
    assert board.ready() == (True, [])
    assert registry.get_sample_value("quant_dependency_up", gauge) == 1
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "PostgreSQL is unavailable" in lines[0] and "after 7.5 s" in lines[1]


async def test_probe_once_records_what_the_check_says() -> None:
    board, server = StatusBoard(), Server(up=False)
    board.watch(Dependency(server.name, server.check))
    assert not await probe_once(board, board.dependencies()[0])
    assert not board.dependency_is_up("PostgreSQL")
    server.up = True
    assert await probe_once(board, board.dependencies()[0])
    assert board.dependency_is_up("PostgreSQL")


class Idle:
    name = "idle"

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()


async def test_run_services_checks_dependencies_while_the_services_run() -> None:
    board, server = StatusBoard(), Server("QuestDB")
    board.watch(Dependency(server.name, server.check))
    settings = ServiceSettings.model_validate({"dependency_check_interval_s": 0.01})
    stop = asyncio.Event()
    runner = asyncio.create_task(
        run_services([Idle()], settings, board=board, stop=stop, handle_signals=False)
    )

    async def until(ok: bool) -> None:
        for _ in range(500):
            if board.ready()[0] is ok:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"board never turned ready={ok}: {board.ready()}")

    await until(True)
    server.up = False
    await until(False)
    assert board.ready()[1] == ["QuestDB unavailable: connection refused"]
    server.up = True
    await until(True)
    stop.set()
    await asyncio.wait_for(runner, 5)
    checks = server.checks
    await asyncio.sleep(0.05)
    assert server.checks == checks  # the watcher stopped with the services


async def test_watch_dependencies_returns_on_stop_without_dependencies() -> None:
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(watch_dependencies(StatusBoard(), stop, 10.0), 1)


class LateStore:
    """A relational store whose server answers only once ``up`` (a Pingable)."""

    server_name = "PostgreSQL"

    def __init__(self) -> None:
        self.up = False
        self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def open(self, timeout: float | None = None) -> LateStore:
        if not self.up:
            raise StoreError("connection refused")
        self._open = True
        return self

    def ping(self, timeout: float = 2.0) -> None:
        if not (self.up and self._open):
            raise StoreError("connection refused")

    def list_instruments(self) -> list[Instrument]:
        if not self._open:
            raise StoreError("PostgreSQL store is not open; call open() first")
        return [INST]


async def test_a_store_down_at_start_up_is_waited_for_not_fatal() -> None:
    board, store = StatusBoard(), LateStore()
    await open_store(board, store)  # no exception: the process starts without it
    assert board.ready() == (False, ["PostgreSQL unavailable: connection refused"])
    deps = Deps(
        clock=SystemClock(),
        registry=CollectorRegistry(),
        board=board,
        bus=None,  # type: ignore[arg-type]  # not used by load_instruments
        instruments=StoreCatalog(store),  # type: ignore[arg-type]
    )
    stop = asyncio.Event()
    loading = asyncio.create_task(load_instruments(deps, stop, "test"))
    await asyncio.sleep(0.1)
    assert not loading.done()  # waits for the store instead of failing the service
    store.up = True
    assert await probe_once(board, board.dependencies()[0])  # the probe opens it
    assert store.is_open and board.ready() == (True, [])
    assert await asyncio.wait_for(loading, 5) == [INST]


async def test_load_instruments_gives_way_to_stop_while_waiting() -> None:
    store = LateStore()
    deps = Deps(
        clock=SystemClock(),
        registry=CollectorRegistry(),
        board=StatusBoard(),
        bus=None,  # type: ignore[arg-type]
        instruments=StoreCatalog(store),  # type: ignore[arg-type]
    )
    stop = asyncio.Event()
    loading = asyncio.create_task(load_instruments(deps, stop, "test"))
    await asyncio.sleep(0.05)
    stop.set()
    assert await asyncio.wait_for(loading, 5) is None
