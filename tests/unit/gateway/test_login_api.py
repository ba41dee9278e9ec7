"""The REST API with a browser session instead of an API key: every state-changing call
needs the session's CSRF token (API-key calls need none), roles hold (a viewer cannot
place an order), and the trading calls are forwarded with the user's own key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from login_kit import RecordingExecution, add_users, csrf_of, gateway_client, login
from quant.core.clock import FakeClock
from quant.users.directory import Caller, UserDirectory
from quant.users.roles import Role
from users_kit import memory_directory

ORDER = {"symbol": "RELIANCE", "side": "BUY", "quantity": 1, "order_type": "MARKET",
         "product": "I"}  # fmt: skip
# every state-changing trading call, with a body the gateway accepts
CHANGES = [
    ("POST", "/api/v1/orders", ORDER),
    ("DELETE", "/api/v1/orders/manual-261207-3", None),
    ("PATCH", "/api/v1/orders/manual-261207-3", {"quantity": 2}),
    ("POST", "/api/v1/killswitch", {"action": "halt"}),
]


@pytest.fixture
def directory() -> Iterator[UserDirectory]:
    with memory_directory() as users:
        add_users(users)
        yield users


@pytest.fixture
def execution() -> RecordingExecution:
    return RecordingExecution()


@pytest.fixture
async def client(
    directory: UserDirectory, execution: RecordingExecution
) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(directory, FakeClock(0), execution=execution) as c:
        yield c


async def test_no_state_change_with_a_session_but_without_its_csrf_token(
    client: httpx.AsyncClient, execution: RecordingExecution
) -> None:
    await login(client, "ada")
    for method, path, body in CHANGES:
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            r = await client.request(method, path, json=body, headers=headers)
            assert r.status_code == 403, (method, path, r.text)
            assert "CSRF token" in r.json()["detail"]
    assert execution.calls == []  # nothing reached the execution service
    app = client._transport.app  # type: ignore[attr-defined]
    assert app.state.auth_failures.labels(reason="csrf")._value.get() == 2 * len(CHANGES)


async def test_no_state_change_without_a_session_or_key(
    client: httpx.AsyncClient, execution: RecordingExecution
) -> None:
    for method, path, body in CHANGES:
        r = await client.request(method, path, json=body, headers={"X-CSRF-Token": "x"})
        assert r.status_code == 401, (method, path)
    # a session id that is not (or no longer) one is refused as well
    client.cookies.set("quant_session", "made-up", domain="gateway.local", path="/")
    r = await client.post("/api/v1/killswitch", json={"action": "halt"})
    assert r.status_code == 401 and "log in again" in r.json()["detail"]
    assert execution.calls == []


async def test_with_the_csrf_token_a_trader_session_trades(
    client: httpx.AsyncClient, execution: RecordingExecution, directory: UserDirectory
) -> None:
    await login(client, "tara")
    token = await csrf_of(client)
    r = await client.post(
        "/api/v1/killswitch", json={"action": "halt"}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/orders")).status_code == 200  # reads need no token
    forwarded = [c.authorization for c in execution.calls]
    assert len(forwarded) == 2 and forwarded[0] == forwarded[1]
    # forwarded with a key of tara's own, never the session id or the CSRF token
    key = forwarded[0].removeprefix("Bearer ")
    assert directory.verify_key(key) == Caller("tara", Role.TRADER)
    assert client.cookies["quant_session"] not in forwarded[0] and token not in forwarded[0]


async def test_a_viewer_session_cannot_place_an_order(
    client: httpx.AsyncClient, execution: RecordingExecution
) -> None:
    await login(client, "vera")
    token = await csrf_of(client)
    r = await client.post("/api/v1/orders", json=ORDER, headers={"X-CSRF-Token": token})
    assert r.status_code == 403 and "needs the role trader" in r.json()["detail"]
    r = await client.post(
        "/api/v1/killswitch", json={"action": "flatten"}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 403
    assert (await client.get("/api/v1/positions")).status_code == 200  # a viewer reads
    assert [c.path for c in execution.calls] == ["/v1/positions"]


async def test_a_role_change_or_disabling_counts_from_the_next_request(
    client: httpx.AsyncClient, directory: UserDirectory
) -> None:
    await login(client, "tara")
    assert (await client.get("/api/v1/me")).json()["role"] == "trader"
    directory.set_disabled("tara", True)
    r = await client.get("/api/v1/me")
    assert r.status_code == 403 and "disabled" in r.json()["detail"]
    assert (await client.get("/")).status_code == 303


async def test_api_key_calls_need_no_csrf_token(
    client: httpx.AsyncClient, directory: UserDirectory, execution: RecordingExecution
) -> None:
    key = directory.issue_key("tara").text
    r = await client.post(
        "/api/v1/killswitch", json={"action": "halt"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200
    assert execution.calls[0].authorization == f"Bearer {key}"
