"""A slow-but-alive feed, on the real simulator: the ingestor says so and reconnects.

The ``ingestor`` service as ``build()`` makes it, supervised by ``run_services`` with its
health server (``/readyz`` over HTTP), on the simulator's clock (as in ``quant up``)
during a simulated trading day, the in-process bus. The simulator's ``feed_delay``
fault holds every frame 2 s before sending it, so the socket stays alive (pings flow)
while its data falls further and further behind. Checked: ``/readyz`` turns 503 naming
the connection and the age within 10 s; past the second threshold the socket is
reconnected (counted, and the simulator sees the old one go); once the fault is
cleared, ``/readyz`` turns 200 again. The measured times are printed (``-s``).
"""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime
from typing import Any

import httpx
import pytest

from quant.bus.inprocess import InProcessBus
from quant.core.clock import IST
from quant.ingestor.main import build
from quant.ingestor.settings import IngestorSettings
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.runtime.supervisor import run_services
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.upstox.instruments import UpstoxInstrumentSource

pytestmark = [pytest.mark.slow]

TRADING = datetime(2026, 11, 25, 10, 0, tzinfo=IST)  # a Wednesday, continuous trading
DELAY_S = 2.0
DETECT_WITHIN_S = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quiet(phase: str, done: int, total: int) -> None:
    del phase, done, total


async def _readyz(http: httpx.AsyncClient) -> tuple[int, list[str]]:
    r = await http.get("/readyz")
    reasons: list[str] = r.json()["reasons"]
    return r.status_code, reasons


async def _wait_readyz(
    http: httpx.AsyncClient, status: int, within_s: float, contains: str = ""
) -> tuple[float, list[str]]:
    """Poll ``/readyz`` every 0.1 s until it answers ``status`` (with a reason containing
    ``contains``); returns the seconds it took and the reasons."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with asyncio.timeout(within_s):
        while True:
            got, reasons = await _readyz(http)
            if got == status and all(contains in r for r in reasons[:1]):
                return loop.time() - start, reasons
            await asyncio.sleep(0.1)


async def test_a_slow_feed_is_not_ready_then_reconnected_and_ready_when_it_recovers() -> None:
    config = SimConfig(
        start=TRADING, step_interval=0.2, ping_interval=1.0, extra_equities=20,
        fno_extra_underlyings=2,
    )  # fmt: skip
    async with SimServer(config) as sim:
        instruments = await UpstoxInstrumentSource(sim.base_url).fetch(_quiet)
        registry, board = new_registry_and_board()
        token = sim.mint_token()
        deps = Deps(
            clock=sim.clock,
            registry=registry,
            board=board,
            bus=InProcessBus(),
            instruments=FixedCatalog(instruments, "the simulator"),
            token=lambda: token,
        )
        port = _free_port()
        base = sim.base_url
        settings = IngestorSettings.model_validate(
            {
                "upstox": {"api_base": base, "hft_base": base, "assets_base": base},
                "universe": ["RELIANCE", "NIFTY 50"],
                "metrics_port": port,
            }
        )
        assert (settings.freshness.stale_after_s, settings.freshness.reconnect_after_s) == (
            5.0,
            15.0,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_services(
                [build(settings, deps)],
                settings,
                registry=registry,
                board=board,
                stop=stop,
                handle_signals=False,
                configure_logging=False,
            )
        )

        def sample(name: str, **labels: Any) -> float:
            return registry.get_sample_value(name, labels) or 0.0

        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                await _wait_readyz(http, 200, 30.0)
                await _wait_until(
                    lambda: sample("ingestor_feed_frame_lag_seconds_count", socket="0")
                )
                assert sample("ingestor_market_open") == 1

                sim.slow_feeds(DELAY_S)  # every frame now waits 2 s: alive, but behind
                detected, reasons = await _wait_readyz(
                    http, 503, DETECT_WITHIN_S, contains="feed connection 0: newest data"
                )
                assert "old by exchange time" in reasons[0]
                assert sample("ingestor_stale_reconnects_total", socket="0") == 0

                reconnected, _ = await _wait_until(
                    lambda: sample("ingestor_stale_reconnects_total", socket="0") >= 1, 30.0
                )
                reconnected += detected
                await _wait_until(lambda: sample("ingestor_reconnects_total", socket="0") >= 1)
                await _wait_until(lambda: len(sim.feed_hub.conns) == 1)  # the old one is gone

                # still slow after the reconnect: stale again, then the fault is cleared
                await _wait_readyz(http, 503, 15.0, contains="feed connection 0")
                sim.slow_feeds(0.0)
                recovered, reasons = await _wait_readyz(http, 200, 15.0)
                assert reasons == []
                metrics = (await http.get("/metrics")).text
                assert 'ingestor_feed_lag_seconds{socket="0"}' in metrics
                assert 'ingestor_instrument_lag_seconds{instrument_key="NSE_EQ|' in metrics
        finally:
            stop.set()
            await asyncio.wait_for(task, 30.0)
    print(
        f"\nfeed delayed {DELAY_S:g} s/frame: not ready after {detected:.1f} s, "
        f"reconnected after {reconnected:.1f} s; ready {recovered:.1f} s after the fault cleared"
    )


async def _wait_until(predicate: Any, within_s: float = 10.0) -> tuple[float, None]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with asyncio.timeout(within_s):
        while True:
            if predicate():
                return loop.time() - start, None
            await asyncio.sleep(0.1)
