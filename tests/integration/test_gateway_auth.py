"""API keys on the real gateway app: 401/403/200, the metric, the OpenAPI, no key in logs.

The user store is the embedded SQLite store and, marked ``integration``, a brand-new
PostgreSQL database (``fresh_postgres_dsn``); keys are made by the real
:class:`UserDirectory` (argon2id with cheap parameters). Two test-only routes guarded by
``require_role(TRADER)`` and ``require_role(ADMIN)`` are added to the real app, since no
trading endpoint exists yet; ``/api/v1/me`` is the real one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry

from conftest import require
from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.auth import failures_counter, require_role
from quant.gateway.deps import GatewayPorts
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings
from quant.store.ports import RelationalStore
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.users.directory import Caller, UserDirectory
from quant.users.keys import new_key
from quant.users.roles import Role
from users_kit import directory_on


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


@pytest.fixture
def directory(store: RelationalStore) -> UserDirectory:
    return directory_on(store)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def _app(directory: UserDirectory | None, registry: CollectorRegistry) -> FastAPI:
    counter = getattr(registry, "auth_failures", None)  # one per registry, as per process
    if counter is None:
        counter = failures_counter(registry)
        registry.auth_failures = counter  # type: ignore[attr-defined]
    ports = GatewayPorts(
        LiveMarketState(),
        InstrumentIndex.build([]),
        registry=registry,
        users=directory,
        auth_failures=counter,
    )
    app = create_app(GatewaySettings(), ports)

    @app.get("/test/trader")
    async def trader_only(caller: Annotated[Caller, Depends(require_role(Role.TRADER))]) -> str:
        return caller.username

    @app.get("/test/admin")
    async def admin_only(caller: Annotated[Caller, Depends(require_role(Role.ADMIN))]) -> str:
        return caller.username

    return app


@pytest.fixture
async def client(
    directory: UserDirectory, registry: CollectorRegistry
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(directory, registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _failures(registry: CollectorRegistry, reason: str) -> float:
    return registry.get_sample_value("gateway_auth_failures_total", {"reason": reason}) or 0.0


async def test_me_needs_a_key_and_says_whose_it_is(
    client: httpx.AsyncClient, directory: UserDirectory, registry: CollectorRegistry
) -> None:
    key = directory.create_user("ravi", Role.VIEWER).text
    for reason in ("missing", "malformed", "unknown", "bad_secret", "disabled", "role"):
        assert (
            registry.get_sample_value("gateway_auth_failures_total", {"reason": reason}) == 0.0
        )  # exported from the start
    missing = await client.get("/api/v1/me")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in missing.json()["detail"]
    assert _failures(registry, "missing") == 1
    ok = await client.get("/api/v1/me", headers=_bearer(key))
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"user": "ravi", "role": "viewer"}


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Basic cmF2aTpodW50ZXIy", "malformed"),
        ("Bearer hunter2", "malformed"),
        ("Bearer", "malformed"),
        (f"Bearer {new_key().text}", "unknown"),
    ],
)
async def test_bad_keys_get_401_and_are_counted_by_reason(
    client: httpx.AsyncClient, registry: CollectorRegistry, header: str, reason: str
) -> None:
    resp = await client.get("/api/v1/me", headers={"Authorization": header})
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    assert header.split(" ")[-1] not in resp.text  # never echoed
    assert _failures(registry, reason) == 1


async def test_a_wrong_secret_for_a_real_key_id_is_401(
    client: httpx.AsyncClient, directory: UserDirectory, registry: CollectorRegistry
) -> None:
    key = directory.create_user("asha", Role.ADMIN)
    forged = f"qk_{key.key_id}_{new_key().secret}"
    resp = await client.get("/api/v1/me", headers=_bearer(forged))
    assert resp.status_code == 401 and _failures(registry, "bad_secret") == 1


async def test_roles_below_the_endpoints_get_403(
    client: httpx.AsyncClient, directory: UserDirectory, registry: CollectorRegistry
) -> None:
    viewer = directory.create_user("ravi", Role.VIEWER).text
    trader = directory.create_user("asha", Role.TRADER).text
    admin = directory.create_user("root", Role.ADMIN).text
    refused = await client.get("/test/trader", headers=_bearer(viewer))
    assert refused.status_code == 403
    assert "trader" in refused.json()["detail"] and "viewer" in refused.json()["detail"]
    assert (await client.get("/test/trader", headers=_bearer(trader))).json() == "asha"
    assert (await client.get("/test/admin", headers=_bearer(trader))).status_code == 403
    assert (await client.get("/test/trader", headers=_bearer(admin))).json() == "root"
    assert (await client.get("/test/admin", headers=_bearer(admin))).json() == "root"
    assert _failures(registry, "role") == 2


async def test_a_disabled_user_gets_403_from_the_next_request_on(
    client: httpx.AsyncClient, directory: UserDirectory, registry: CollectorRegistry
) -> None:
    key = directory.create_user("asha", Role.TRADER).text
    assert (await client.get("/api/v1/me", headers=_bearer(key))).status_code == 200
    directory.set_disabled("asha", True)
    resp = await client.get("/api/v1/me", headers=_bearer(key))
    assert resp.status_code == 403 and "disabled" in resp.json()["detail"]
    assert _failures(registry, "disabled") == 1
    directory.set_disabled("asha", False)
    assert (await client.get("/api/v1/me", headers=_bearer(key))).status_code == 200


async def test_without_a_user_store_keyed_endpoints_answer_503(
    registry: CollectorRegistry, directory: UserDirectory, store: RelationalStore
) -> None:
    key = directory.create_user("asha", Role.TRADER).text
    for app in (_app(None, registry), _app(directory, registry)):
        if app.state.ports.users is not None:
            store.close()  # the store is down
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
            resp = await c.get("/api/v1/me", headers=_bearer(key))
        assert resp.status_code == 503, resp.text
        assert key not in resp.text
    assert _failures(registry, "unavailable") == 2


async def test_keys_never_reach_the_log(
    client: httpx.AsyncClient, directory: UserDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    key = directory.create_user("asha", Role.VIEWER)
    forged = f"qk_{key.key_id}_{new_key().secret}"
    with caplog.at_level(logging.DEBUG):
        for k in (key.text, forged, "hunter2"):
            await client.get("/api/v1/me", headers=_bearer(k))
        await client.get("/test/trader", headers=_bearer(key.text))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused" in logged  # the refusals are logged (at debug), without their keys
    for secret in (key.secret, forged[16:], "hunter2"):
        assert secret not in logged


def _all_user_rows(store: RelationalStore) -> str:
    """Every row of ``users`` and ``api_keys``, as text (what a leaked database shows)."""
    sql = ("SELECT * FROM users", "SELECT * FROM api_keys")
    if isinstance(store, SqliteRelationalStore):
        conn = store._conn
        assert conn is not None
        return repr([conn.execute(q).fetchall() for q in sql])
    pool = store._pool  # type: ignore[attr-defined]
    with pool.connection() as pg:
        return repr([pg.execute(q.encode()).fetchall() for q in sql])


def test_no_key_or_password_is_stored_in_clear(
    directory: UserDirectory, store: RelationalStore
) -> None:
    first = directory.create_user("asha", Role.TRADER, password="correct horse")
    second = directory.issue_key("asha")
    rows = _all_user_rows(store)
    assert first.key_id in rows and second.key_id in rows
    for secret in (first.secret, second.secret, "correct horse"):
        assert secret not in rows
    assert rows.count("$argon2id$") == 3
    assert directory.verify_key(second.text) == Caller("asha", Role.TRADER)


async def test_the_openapi_documents_the_bearer_scheme_on_keyed_endpoints_only(
    client: httpx.AsyncClient,
) -> None:
    spec: dict[str, Any] = (await client.get("/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    me = spec["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearer": []}]
    assert {"401", "403", "503"} <= set(me["responses"])
    quote = spec["paths"]["/api/v1/market/quote/{symbol}"]["get"]
    assert "security" not in quote
