"""The ``ingestor`` service against the real simulator: a refused token is waited out.

Issue #16 (self-recovery): a 401 (token expired or revoked) ended the ingestor for good.
Now it waits for a new token, re-reading the token file (how a Kubernetes Secret is
mounted) every ``token_reread_s``, says so on ``/readyz`` and in
``ingestor_waiting_for_token``, and resumes in the same process once a new token is
written. The supervisor never sees a failure. The recovery time (new token written →
ticks flowing again) is printed (``pytest -s``), not asserted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from quant.bus.inprocess import InProcessBus
from quant.core.clock import IST, SystemClock
from quant.ingestor.main import IngestorService, build
from quant.ingestor.settings import IngestorSettings
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.runtime.health import HealthServer
from quant.runtime.status import State, StatusBoard
from quant.runtime.supervisor import run_services
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.upstox.auth import AccessToken, FileTokenStore, StoredTokenSource, token_expiry_ns
from quant.upstox.instruments import UpstoxInstrumentSource

START = datetime(2026, 11, 24, 10, 0, tzinfo=IST)  # a Tuesday, market open
REREAD_S = 0.2


@dataclass
class Running:
    sim: SimServer
    service: IngestorService
    board: StatusBoard
    token_file: Path
    health: HealthServer
    registry_value: Callable[[str, dict[str, str] | None], float]

    def ticks(self) -> float:
        return self.registry_value("ingestor_ticks_total", {"mode": "full"})

    def waiting(self) -> float:
        return self.registry_value("ingestor_waiting_for_token", None)

    async def readyz(self) -> tuple[int, list[str]]:
        async with httpx.AsyncClient() as http:
            r = await http.get(f"http://127.0.0.1:{self.health.port}/readyz")
        return r.status_code, r.json()["reasons"]


async def until(predicate: Callable[[], bool], wait: float = 15.0) -> None:
    async with asyncio.timeout(wait):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.02)


@pytest.fixture(params=["file"])
async def running(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    """The ingestor on a simulator; its token from a file, or (``sim``) the simulator's
    own reloadable source, as ``quant up`` wires it."""
    cfg = SimConfig(
        start=START, step_interval=0.2, ping_interval=1.0, extra_equities=5,
        fno_extra_underlyings=1,
    )  # fmt: skip
    async with SimServer(cfg) as sim:
        instruments = await UpstoxInstrumentSource(sim.base_url).fetch(lambda *_: None)
        token_file = tmp_path / "access_token"
        token_file.write_text(sim.mint_token())  # a bare token, as a mounted Secret key
        clock = SystemClock()
        registry, board = new_registry_and_board()
        deps = Deps(
            clock=clock,
            registry=registry,
            board=board,
            bus=InProcessBus(),
            instruments=FixedCatalog(instruments, "the simulator"),
            # the simulator's tokens expire by its clock (its day), not the wall clock
            token=StoredTokenSource(FileTokenStore(token_file), sim.clock)
            if request.param == "file"
            else sim.token_source(),
        )
        settings = IngestorSettings.model_validate(
            {
                "universe": ["RELIANCE", "INFY"],
                "upstox": {"api_base": sim.base_url, "token_file": str(token_file)},
                "token_reread_s": REREAD_S,
                "metrics_port": 0,
                # the simulator runs START's date on the wall clock: no session window
                "tick_limits": {"session_window": False},
            }
        )
        service = build(settings, deps)
        stop = asyncio.Event()
        with HealthServer(0, registry, board.ready, host="127.0.0.1") as health:
            task = asyncio.create_task(
                run_services(
                    [service], settings, registry=registry, board=board, stop=stop,
                    handle_signals=False, configure_logging=False,
                )
            )  # fmt: skip

            def value(name: str, labels: dict[str, str] | None = None) -> float:
                return registry.get_sample_value(name, labels or {}) or 0.0

            yield Running(sim, service, board, token_file, health, value)
            stop.set()
            async with asyncio.timeout(10):
                await task


async def test_a_revoked_token_is_waited_out_until_a_new_one_is_written(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="quant")
    r = running
    loop = asyncio.get_running_loop()
    await until(lambda: r.ticks() > 0)
    assert (await r.readyz())[0] == 200
    revoked = r.token_file.read_text()

    r.sim.expire_tokens()  # revoked: every reconnect now gets HTTP 401
    revoked_at = loop.time()
    r.sim.drop_feeds()
    await until(lambda: r.waiting() == 1)
    print(f"401 noticed (waiting) {loop.time() - revoked_at:.2f} s after the revocation")
    status, reasons = await r.readyz()
    assert status == 503
    assert len(reasons) == 1 and reasons[0].startswith(
        "ingestor: waiting for a new Upstox access token since "
    )
    assert f"re-reading {r.token_file} every 0.2 s" in reasons[0]
    assert r.board.state("ingestor") is State.RUNNING  # no failure, no restart

    r.token_file.write_text(revoked)  # the same (revoked) token rewritten: still waiting
    await asyncio.sleep(5 * REREAD_S)
    assert r.waiting() == 1
    ticks = r.ticks()

    r.token_file.write_text(r.sim.mint_token())
    written = loop.time()
    await until(lambda: r.ticks() > ticks)
    print(f"ticks again {loop.time() - written:.2f} s after the new token was written")
    assert r.waiting() == 0
    await until(lambda: r.service.ready()[0])
    assert await r.readyz() == (200, [])
    assert r.board.state("ingestor") is State.RUNNING
    for kind in ("fatal", "retryable"):  # the supervisor saw no failure
        labels = {"service": "ingestor", "kind": kind}
        assert r.registry_value("quant_service_failures_total", labels) == 0
    assert r.registry_value("quant_service_up", {"service": "ingestor"}) == 1
    assert r.registry_value("ingestor_token_refusals_total", None) >= 1

    lines = [rec.getMessage() for rec in caplog.records if rec.name.startswith("quant.ingestor")]
    assert sum("waits for a new token" in line for line in lines) == 1
    assert sum("new Upstox access token was picked up" in line for line in lines) == 1
    every = [rec.getMessage() for rec in caplog.records]
    assert not any(revoked in line for line in every)
    assert not any(r.token_file.read_text() in line for line in every)


async def test_a_missing_token_file_is_waited_for(running: Running) -> None:
    r = running
    await until(lambda: r.ticks() > 0)
    r.token_file.unlink()  # e.g. a Secret deleted and not yet recreated
    r.sim.expire_tokens()
    r.sim.drop_feeds()
    await until(lambda: r.waiting() == 1)
    await asyncio.sleep(3 * REREAD_S)
    assert r.board.state("ingestor") is State.RUNNING
    ticks = r.ticks()
    token = r.sim.mint_token()  # saved as `quant auth login` does: the JSON document
    now = r.sim.clock.now_ns()
    FileTokenStore(r.token_file).save(
        AccessToken(SecretStr(token), token_expiry_ns(token, now), now)
    )
    await until(lambda: r.ticks() > ticks)
    assert r.waiting() == 0


@pytest.mark.parametrize("running", ["sim"], indirect=True)
async def test_quant_ups_embedded_simulator_logs_in_again_at_once(running: Running) -> None:
    r = running
    loop = asyncio.get_running_loop()
    await until(lambda: r.ticks() > 0)
    ticks = r.ticks()
    r.sim.expire_tokens()
    revoked_at = loop.time()
    r.sim.drop_feeds()
    await until(lambda: r.registry_value("ingestor_token_refusals_total", None) >= 1)
    await until(lambda: r.ticks() > ticks)
    print(f"embedded simulator: ticks again {loop.time() - revoked_at:.2f} s after the 401")
    assert r.waiting() == 0 and r.board.state("ingestor") is State.RUNNING
