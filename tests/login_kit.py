"""A gateway app with users, a fake clock and a fake execution service, and a browser-like
client that logs in through the form. Imported by bare module name (``from login_kit
import ...``) by the gateway's login tests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import httpx

from quant.core.clock import FakeClock
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.ports import ExecutionReply
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings, LoginSettings
from quant.users.directory import UserDirectory
from quant.users.roles import Role

PASSWORD = "correct horse battery"
REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY,
)  # fmt: skip
STATES = {"account": "HALTED", "strategies": {}}


class Forwarded(NamedTuple):
    method: str
    path: str
    authorization: str


class RecordingExecution:
    """The execution service as the gateway sees it: records who asked, answers the kill
    switch and an empty order list."""

    def __init__(self) -> None:
        self.calls: list[Forwarded] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        authorization: str,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
    ) -> ExecutionReply:
        self.calls.append(Forwarded(method, path, authorization))
        if path == "/v1/killswitch":
            return ExecutionReply(200, STATES)
        return ExecutionReply(200, [])


def add_users(directory: UserDirectory) -> None:
    """``vera`` (viewer), ``tara`` (trader) and ``ada`` (admin), all with :data:`PASSWORD`."""
    for name, role in (("vera", Role.VIEWER), ("tara", Role.TRADER), ("ada", Role.ADMIN)):
        directory.create_user(name, role, PASSWORD)


def gateway_client(
    directory: UserDirectory | None,
    clock: FakeClock,
    *,
    execution: RecordingExecution | None = None,
    login: LoginSettings | None = None,
    base_url: str = "http://gateway",
    client_address: str = "10.0.0.1",
) -> httpx.AsyncClient:
    ports = GatewayPorts(
        LiveMarketState(),
        InstrumentIndex.build([REL]),
        clock=clock,
        session_clock=clock,
        users=directory,
        accounts=directory,
        execution=execution,
    )
    settings = GatewaySettings(login=login or LoginSettings())
    transport = httpx.ASGITransport(app=create_app(settings, ports), client=(client_address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


def form_token(page: str) -> str:
    """The ``csrf_token`` hidden field of a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, "no csrf_token field on the page"
    return match.group(1)


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    """Open the login page and post its form, as a browser does."""
    page = await client.get("/login")
    assert page.status_code == 200, page.text
    data = {"username": username, "password": password, "csrf_token": form_token(page.text)}
    return await client.post("/login", data=data)


async def csrf_of(client: httpx.AsyncClient) -> str:
    """The session's CSRF token, as the home page gives it."""
    home = await client.get("/")
    assert home.status_code == 200, home.text
    return form_token(home.text)
