"""``quant auth login`` flows with a real local receiver and a mocked Upstox token API."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from quant.auth.service import login_with_code, login_with_token_request
from quant.core.clock import FakeClock
from quant.upstox.auth import FileTokenStore
from quant.upstox.errors import UpstoxAuthError
from quant.upstox.settings import UpstoxSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings(tmp_path: Path, port: int) -> UpstoxSettings:
    return UpstoxSettings(
        api_base="https://api.test",
        client_id="key1",
        client_secret=SecretStr("s3cret"),
        redirect_uri=f"http://127.0.0.1:{port}/callback",
        token_file=tmp_path / "token.json",
    )


def token_api(request: httpx.Request) -> httpx.Response:
    form = parse_qs(request.content.decode())
    if request.url.path == "/v2/login/authorization/token" and form["code"] == ["c0de"]:
        return httpx.Response(200, json={"user_id": "AB1234", "access_token": "zq-secret-9"})
    if request.url.path == "/v3/login/auth/token/request/key1":
        return httpx.Response(200, json={"status": "success", "data": {
            "authorization_expiry": "1795557600000", "notifier_url": "https://hook"}})  # fmt: skip
    return httpx.Response(400, json={"status": "error", "errors": [
        {"error_code": "UDAPI100016", "message": "Invalid Credentials"}]})  # fmt: skip


async def browser(url: str, *, code: str = "c0de", state: str | None = None) -> None:
    query = parse_qs(urlsplit(url).query)
    redirect = query["redirect_uri"][0]
    params = {"code": code, "state": state or query["state"][0]}
    async with httpx.AsyncClient() as http:
        response = await http.get(redirect, params=params)
        assert response.status_code == 200


async def test_code_flow_stores_the_token_privately(tmp_path: Path) -> None:
    cfg = settings(tmp_path, free_port())
    tasks: list[asyncio.Task[None]] = []
    store = FileTokenStore(cfg.token_file)
    token = await login_with_code(
        cfg,
        store,
        announce=lambda url: tasks.append(asyncio.create_task(browser(url))),
        clock=FakeClock(0),
        wait_seconds=5,
        transport=httpx.MockTransport(token_api),
    )
    await asyncio.gather(*tasks)
    assert token.user_id == "AB1234"
    assert store.load() == token
    assert (cfg.token_file.stat().st_mode & 0o777) == 0o600


async def test_code_flow_refuses_a_forged_state(tmp_path: Path) -> None:
    cfg = settings(tmp_path, free_port())
    tasks: list[asyncio.Task[None]] = []
    with pytest.raises(UpstoxAuthError, match="wrong state"):
        await login_with_code(
            cfg,
            FileTokenStore(cfg.token_file),
            announce=lambda url: tasks.append(asyncio.create_task(browser(url, state="evil"))),
            clock=FakeClock(0),
            wait_seconds=5,
            transport=httpx.MockTransport(token_api),
        )
    await asyncio.gather(*tasks)
    assert not cfg.token_file.exists()


async def test_token_request_flow_receives_the_webhook(tmp_path: Path) -> None:
    cfg = settings(tmp_path, free_port())
    port = free_port()
    tasks: list[asyncio.Task[None]] = []

    async def upstox_notifies() -> None:
        body = {"client_id": "key1", "user_id": "AB1234", "access_token": "zq-secret-9",
                "token_type": "Bearer", "expires_at": "1795557600000",
                "issued_at": "1795500000000", "message_type": "access_token"}  # fmt: skip
        async with httpx.AsyncClient() as http:
            url = f"http://127.0.0.1:{port}/upstox/notifier"
            assert (await http.post(url, content=json.dumps(body))).status_code == 200

    token = await login_with_token_request(
        cfg,
        FileTokenStore(cfg.token_file),
        announce=lambda _: tasks.append(asyncio.create_task(upstox_notifies())),
        clock=FakeClock(0),
        webhook_port=port,
        wait_seconds=5,
        transport=httpx.MockTransport(token_api),
    )
    await asyncio.gather(*tasks)
    assert token.token.get_secret_value() == "zq-secret-9"
    assert token.expires_at_ns == 1795557600000 * 10**6
    assert FileTokenStore(cfg.token_file).load() == token


async def test_redirect_uri_must_be_local(tmp_path: Path) -> None:
    cfg = settings(tmp_path, 1).model_copy(update={"redirect_uri": "https://example.com/cb"})
    with pytest.raises(ValueError, match="received locally"):
        await login_with_code(
            cfg, FileTokenStore(cfg.token_file), announce=print, clock=FakeClock(0)
        )
