"""Shared helpers for the conformance tests: an in-process simulator and SDK/our clients.

Imported by the ``tests/conformance`` modules (fixtures are re-exported there). The
simulator runs on the test's event loop; the synchronous SDK runs in worker threads.
Only host/URL differ from a real Upstox setup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import upstox_client

from quant.core.clock import IST
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.upstox.checks import TickLimits
from quant.upstox.config import FeedConfig, RestConfig
from quant.upstox.rest import UpstoxRestClient

RELIANCE = "NSE_EQ|INE002A01018"
NIFTY = "NSE_INDEX|Nifty 50"
START = datetime(2026, 11, 24, 10, 0, tzinfo=IST)  # a Tuesday, market open


def sim_config(**kw: Any) -> SimConfig:
    base: dict[str, Any] = {
        "start": START,
        "speed": 1.0,
        "step_interval": 0.2,
        "ping_interval": 1.0,
        "extra_equities": 20,
        "fno_extra_underlyings": 2,
    }
    base.update(kw)
    return SimConfig(**base)


_SDK_CLIENTS: list[Any] = []


def _close_sdk_clients() -> None:
    """Each SDK ApiClient owns a ThreadPool; close it here rather than in its __del__."""
    while _SDK_CLIENTS:
        pool = _SDK_CLIENTS.pop().pool
        pool.close()
        pool.join()


@pytest.fixture(name="sim")
async def sim_fixture() -> AsyncIterator[SimServer]:
    async with SimServer(sim_config()) as server:
        yield server
    _close_sdk_clients()


@pytest.fixture(name="frozen_sim")
async def frozen_sim_fixture() -> AsyncIterator[SimServer]:
    """A simulator whose market does not move after its first step (stable quotes)."""
    async with SimServer(sim_config(step_interval=3600.0)) as server:
        yield server
    _close_sdk_clients()


def sdk_client(sim: SimServer, token: str | None = None) -> Any:
    conf = upstox_client.Configuration()
    conf.host = sim.base_url
    conf.order_host = sim.base_url
    conf.access_token = token or sim.mint_token()
    client = upstox_client.ApiClient(conf)
    _SDK_CLIENTS.append(client)
    return client


def rest_config(sim: SimServer, **kw: Any) -> RestConfig:
    return RestConfig(api_base=sim.base_url, hft_base=sim.base_url, ca_file=sim.ca_file, **kw)


def feed_config(sim: SimServer, **kw: Any) -> FeedConfig:
    base: dict[str, Any] = {
        "api_base": sim.base_url,
        "ca_file": sim.ca_file,
        "silence_timeout_seconds": 5.0,
        "reconnect_base_seconds": 0.05,
        "reconnect_max_seconds": 0.5,
        # the simulator runs START's date while the client's clock is the wall clock
        "tick_limits": TickLimits(session_window=False),
    }
    base.update(kw)
    return FeedConfig(**base)


def our_client(sim: SimServer, token: str | None = None, **kw: Any) -> UpstoxRestClient:
    value = token or sim.mint_token()
    return UpstoxRestClient(lambda: value, rest_config(sim, **kw))
