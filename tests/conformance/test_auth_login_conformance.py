"""``quant auth`` login flows against the simulator: code flow and token-request webhook.

The simulator's dialog approves at once and redirects to our local receiver (standing in
for the browser); its token-request endpoint POSTs the token to the notifier URL, which
is our local webhook. The stored token must then work for market data.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sim_fixtures import RELIANCE, our_client, sim_config

from quant.auth.service import login_with_code, login_with_token_request
from quant.core.clock import SystemClock
from quant.sim.server import SimServer
from quant.upstox.auth import FileTokenStore
from quant.upstox.settings import UpstoxSettings

pytestmark = pytest.mark.conformance


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_code_flow_against_the_simulator(tmp_path: Path) -> None:
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    async with SimServer(sim_config(redirect_uri=redirect)) as sim:
        settings = UpstoxSettings(
            api_base=sim.base_url, client_id=sim.config.client_id,
            client_secret=SecretStr(sim.config.client_secret), redirect_uri=redirect,
            token_file=tmp_path / "token.json",
        )  # fmt: skip
        tasks: list[asyncio.Task[httpx.Response]] = []

        async def browser(url: str) -> httpx.Response:
            async with httpx.AsyncClient(follow_redirects=True) as http:
                return await http.get(url)

        store = FileTokenStore(settings.token_file)
        token = await login_with_code(
            settings, store, announce=lambda url: tasks.append(asyncio.create_task(browser(url))),
            clock=SystemClock(), wait_seconds=10,
        )  # fmt: skip
        (page,) = await asyncio.gather(*tasks)
        assert page.status_code == 200 and "received" in page.text
        assert token.user_id == sim.config.user_id and store.load() == token
        async with our_client(sim, token.token.get_secret_value()) as api:
            assert RELIANCE in await api.ltp([RELIANCE])


async def test_token_request_flow_against_the_simulator(tmp_path: Path) -> None:
    port = free_port()
    notifier = f"http://127.0.0.1:{port}/upstox/notifier"
    async with SimServer(sim_config(notifier_url=notifier)) as sim:
        settings = UpstoxSettings(
            api_base=sim.base_url, client_id=sim.config.client_id,
            client_secret=SecretStr(sim.config.client_secret), token_file=tmp_path / "t.json",
        )  # fmt: skip
        token = await login_with_token_request(
            settings, FileTokenStore(settings.token_file), announce=lambda _: None,
            clock=SystemClock(), webhook_port=port, wait_seconds=10,
        )  # fmt: skip
        assert token.source == "token_request" and token.expires_at_ns > token.issued_at_ns
        async with our_client(sim, token.token.get_secret_value()) as api:
            assert RELIANCE in await api.ltp([RELIANCE])
