"""The execution service's HTTP API over a real engine (in-memory journal, scripted broker):
keys and roles (401/403, counted), the JSON of the views, a manual order through the risk
path (201, or 422 with its reason code), cancel (404/409), the kill switch, and 503 while
the engine recovers or its journal fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import httpx
import pytest
from engine_kit import EQ_KEY, FO_KEY, Rig, intent, make_rig, msg, ready_rig
from prometheus_client import CollectorRegistry

from quant.core.orders import OrderEvent
from quant.execution import views
from quant.execution.api import AUTH_FAILURES, auth_failures_counter, create_app
from quant.store.ports import StoreError
from quant.users.directory import UserDirectory
from quant.users.roles import Role
from users_kit import memory_directory, viewer_and_trader_keys

ORDER = {
    "instrument_key": EQ_KEY,
    "side": "BUY",
    "quantity": 10,
    "order_type": "LIMIT",
    "product": "I",
    "price": "2500.00",
}
# every route, with a body that would be valid
ROUTES: list[tuple[str, str, dict[str, Any] | None, Role]] = [
    ("GET", "/v1/orders", None, Role.VIEWER),
    ("GET", "/v1/trades", None, Role.VIEWER),
    ("GET", "/v1/positions", None, Role.VIEWER),
    ("GET", "/v1/pnl", None, Role.VIEWER),
    ("POST", "/v1/orders", ORDER, Role.TRADER),
    ("DELETE", "/v1/orders/orb-261207-1", None, Role.TRADER),
    ("PATCH", "/v1/orders/orb-261207-1", {"price": "2501.00"}, Role.TRADER),
    ("POST", "/v1/killswitch", {"action": "halt"}, Role.TRADER),
]


@pytest.fixture
def directory() -> Iterator[UserDirectory]:
    with memory_directory() as users:
        yield users


@pytest.fixture
def keys(directory: UserDirectory) -> dict[str, str]:
    return viewer_and_trader_keys(directory)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def rig() -> Rig:
    return await ready_rig()


def _client(rig: Rig, users: UserDirectory | None, registry: CollectorRegistry) -> Any:
    app = create_app(
        rig.engine, users, clock=rig.clock, auth_failures=auth_failures_counter(registry)
    )
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://execution")


@pytest.fixture
async def client(
    rig: Rig, directory: UserDirectory, registry: CollectorRegistry
) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(rig, directory, registry) as c:
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _send(
    client: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    return await client.request(method, path, json=body, headers=headers)


async def test_every_route_needs_a_key_with_the_role_and_refusals_are_counted(
    client: httpx.AsyncClient, keys: dict[str, str], registry: CollectorRegistry, rig: Rig
) -> None:
    for method, path, body, role in ROUTES:
        missing = await _send(client, method, path, body, {})
        assert missing.status_code == 401, (method, path)
        assert missing.headers["www-authenticate"] == "Bearer"
        assert "Bearer" in missing.json()["detail"]
        bad = await _send(client, method, path, body, bearer("qk_000000000000_" + "x" * 43))
        assert bad.status_code == 401
        assert bad.json()["detail"] == "unknown API key"
        if role is Role.TRADER:
            low = await _send(client, method, path, body, bearer(keys["viewer"]))
            assert low.status_code == 403
            assert low.json()["detail"] == "this needs the role trader (or higher); yours is viewer"
    assert registry.get_sample_value(AUTH_FAILURES, {"reason": "missing"}) == len(ROUTES)
    assert registry.get_sample_value(AUTH_FAILURES, {"reason": "unknown"}) == len(ROUTES)
    traders = sum(role is Role.TRADER for *_, role in ROUTES)
    assert registry.get_sample_value(AUTH_FAILURES, {"reason": "role"}) == traders == 4
    assert rig.broker.placed == [] and rig.control.commands == []  # nothing got through


async def test_reads_answer_the_json_of_the_views(
    client: httpx.AsyncClient, keys: dict[str, str], rig: Rig
) -> None:
    sub = await rig.engine.submit(msg(intent(qty=10, price=250_000)))
    await rig.engine.on_broker_update(rig.broker.fill(sub.client_order_id, 10, 250_000))
    headers = bearer(keys["viewer"])
    orders = (await client.get("/v1/orders", headers=headers)).json()
    assert orders == views.orders_json(rig.engine)
    assert orders[0]["status"] == "FILLED" and orders[0]["submitted_at"] is not None
    trades = (await client.get("/v1/trades", params={"limit": 1}, headers=headers)).json()
    assert trades == views.trades_json(rig.engine, 1)
    assert trades[0]["price"] == "2500.00" and trades[0]["charges"]["total"] != "0.00"
    positions = (await client.get("/v1/positions", headers=headers)).json()
    assert positions == views.positions_json(rig.engine)
    assert positions[0]["quantity"] == 10
    pnl = (await client.get("/v1/pnl", headers=headers)).json()
    assert pnl == views.pnl_json(rig.engine)
    assert pnl["state"] == {"account": "ACTIVE", "strategies": {}}
    assert (await client.get("/v1/trades?limit=0", headers=headers)).status_code == 422


async def test_a_manual_order_goes_through_the_engine_and_answers_201(
    client: httpx.AsyncClient, keys: dict[str, str], rig: Rig
) -> None:
    r = await client.post("/v1/orders", json=ORDER, headers=bearer(keys["trader"]))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["client_order_id"] == "manual-261207-1"
    assert [o["status"] for o in body["orders"]] == ["OPEN"]
    assert body["orders"][0]["price"] == "2500.00"
    assert body["orders"][0]["strategy"] == "manual"
    (sent,) = rig.broker.placed
    assert sent.intent.price == 250_000 and sent.intent.quantity == 10
    assert sent.intent.tag == "api:tara"  # who asked, in the audit trail
    # a strategy may be named, and SL prices are rupee strings too
    stop = ORDER | {"order_type": "SL", "side": "SELL", "price": "2490.00",
                    "trigger_price": "2495.50", "strategy": "orb"}  # fmt: skip
    r = await client.post("/v1/orders", json=stop, headers=bearer(keys["trader"]))
    assert r.status_code == 201, r.text
    assert r.json()["client_order_id"] == "orb-261207-1"
    assert rig.broker.placed[-1].intent.trigger_price == 249_550


async def test_a_refused_order_is_422_with_its_reason_code_and_is_never_sent(
    client: httpx.AsyncClient, keys: dict[str, str], rig: Rig
) -> None:
    odd_lot = ORDER | {"instrument_key": FO_KEY, "quantity": 10, "price": "100.00"}
    r = await client.post("/v1/orders", json=odd_lot, headers=bearer(keys["trader"]))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "LOT_SIZE"
    assert "lot" in detail["message"]
    off_tick = ORDER | {"price": "2500.05"}  # tick 0.10
    r = await client.post("/v1/orders", json=off_tick, headers=bearer(keys["trader"]))
    assert r.json()["detail"]["code"] == "TICK_SIZE"
    assert rig.broker.placed == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"price": None}, ["body"]),  # a LIMIT needs a price: the domain's rule
        ({"order_type": "MARKET"}, ["body"]),  # a MARKET takes none
        ({"price": "2500.123"}, ["body", "price"]),
        ({"price": 2500}, ["body", "price"]),  # rupee strings, not numbers
        ({"quantity": 0}, ["body", "quantity"]),
        ({"side": "buy"}, ["body", "side"]),
        ({"instrument_key": "RELIANCE"}, ["body", "instrument_key"]),
        ({"strategy": "no spaces"}, ["body", "strategy"]),
        ({"qty": 5}, ["body", "qty"]),  # unknown fields are refused, not ignored
    ],
)
async def test_a_malformed_order_is_422_saying_where_without_echoing_it(
    client: httpx.AsyncClient,
    keys: dict[str, str],
    rig: Rig,
    change: dict[str, Any],
    where: list[str],
) -> None:
    body = {k: v for k, v in (ORDER | change).items() if v is not None}
    r = await client.post("/v1/orders", json=body, headers=bearer(keys["trader"]))
    assert r.status_code == 422, r.text
    (issue,) = r.json()["detail"]
    assert issue["loc"] == where
    assert set(issue) == {"loc", "msg", "type"} and issue["msg"]
    assert rig.broker.placed == []


async def test_cancel_is_200_then_409_and_404_for_an_unknown_order(
    client: httpx.AsyncClient, keys: dict[str, str], rig: Rig
) -> None:
    headers = bearer(keys["trader"])
    cid = (await client.post("/v1/orders", json=ORDER, headers=headers)).json()["client_order_id"]
    r = await client.delete(f"/v1/orders/{cid}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["client_order_id"] == cid
    assert r.json()["status"] == "CANCEL_PENDING"
    assert rig.broker.cancelled == [rig.broker.row(cid).broker_order_id]
    again = await client.delete(f"/v1/orders/{cid}", headers=headers)
    assert again.status_code == 409
    assert "cannot be cancelled" in again.json()["detail"]
    unknown = await client.delete("/v1/orders/manual-261207-99", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no order 'manual-261207-99'"
    assert (await client.delete("/v1/orders/..%2Fx", headers=headers)).status_code in (404, 422)


async def test_modify_is_200_pending_then_409_422_for_a_rule_and_404(
    client: httpx.AsyncClient, keys: dict[str, str], rig: Rig
) -> None:
    headers = bearer(keys["trader"])
    cid = (await client.post("/v1/orders", json=ORDER, headers=headers)).json()["client_order_id"]
    off_tick = await client.patch(f"/v1/orders/{cid}", json={"price": "2500.05"}, headers=headers)
    assert off_tick.status_code == 422, off_tick.text
    assert off_tick.json()["detail"]["code"] == "TICK_SIZE"
    empty = await client.patch(f"/v1/orders/{cid}", json={}, headers=headers)
    assert empty.status_code == 422
    r = await client.patch(f"/v1/orders/{cid}", json={"price": "2501.00"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "MODIFY_PENDING"
    assert [a.price for _, a in rig.broker.modified] == [250_100]
    again = await client.patch(f"/v1/orders/{cid}", json={"quantity": 5}, headers=headers)
    assert again.status_code == 409, again.text
    assert "cannot be modified" in again.json()["detail"]
    unknown = await client.patch(
        "/v1/orders/manual-261207-99", json={"quantity": 5}, headers=headers
    )
    assert unknown.status_code == 404
    viewer = await client.patch(
        f"/v1/orders/{cid}", json={"quantity": 5}, headers=bearer(keys["viewer"])
    )
    assert viewer.status_code == 403


async def test_the_kill_switch_halts_publishes_and_resumes(
    client: httpx.AsyncClient, keys: dict[str, str], rig: Rig
) -> None:
    headers = bearer(keys["trader"])
    r = await client.post("/v1/killswitch", json={"action": "halt"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"account": "HALTED", "strategies": {}}
    (published,) = rig.control.commands
    assert published.engaged and not published.flatten and "tara" in published.reason
    refused = await client.post("/v1/orders", json=ORDER, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["detail"]["code"] == "HALTED"
    r = await client.post("/v1/killswitch", json={"action": "resume"}, headers=headers)
    assert r.json() == {"account": "ACTIVE", "strategies": {}}
    r = await client.post(
        "/v1/killswitch", json={"action": "flatten", "strategy": "orb"}, headers=headers
    )
    assert r.json() == {"account": "ACTIVE", "strategies": {"orb": "HALTED"}}
    assert rig.control.commands[-1].strategy == "orb" and rig.control.commands[-1].flatten
    bad = await client.post("/v1/killswitch", json={"action": "stop"}, headers=headers)
    assert bad.status_code == 422


async def test_every_route_is_503_until_the_engine_has_recovered(
    directory: UserDirectory, keys: dict[str, str], registry: CollectorRegistry
) -> None:
    rig = make_rig()  # recover() not run yet
    async with _client(rig, directory, registry) as client:
        for method, path, body, _role in ROUTES:
            r = await _send(client, method, path, body, bearer(keys["trader"]))
            assert r.status_code == 503, (method, path, r.text)
            assert "recovering" in r.json()["detail"]
            assert r.headers["retry-after"] == "5"
            # the key is still checked first
            assert (await _send(client, method, path, body, {})).status_code == 401
        await rig.engine.recover()
        r = await client.post("/v1/orders", json=ORDER, headers=bearer(keys["trader"]))
        assert r.status_code in (201, 422), r.text  # no quote yet: refused, but answered
    assert rig.control.commands == []


class _BrokenJournal:
    """A journal that loads fine and then cannot write (the database went away)."""

    async def append(self, event: OrderEvent) -> None:
        raise StoreError("connection to the database lost")

    async def append_many(self, events: Sequence[OrderEvent]) -> None:
        raise StoreError("connection to the database lost")

    async def since(self, ts_init: int) -> list[OrderEvent]:
        return []


async def test_a_failing_journal_is_503_not_500(
    directory: UserDirectory, keys: dict[str, str], registry: CollectorRegistry
) -> None:
    rig = make_rig(journal=_BrokenJournal())  # type: ignore[arg-type]
    await rig.engine.recover()
    async with _client(rig, directory, registry) as client:
        r = await client.post("/v1/orders", json=ORDER, headers=bearer(keys["trader"]))
    assert r.status_code == 503, r.text
    assert "StoreError" in r.json()["detail"]
    assert rig.broker.placed == []


async def test_without_a_user_store_keyed_routes_answer_503(
    rig: Rig, keys: dict[str, str], registry: CollectorRegistry
) -> None:
    async with _client(rig, None, registry) as client:
        r = await client.get("/v1/orders", headers=bearer(keys["viewer"]))
    assert r.status_code == 503
    assert r.json()["detail"] == "no user store is configured"
    assert registry.get_sample_value(AUTH_FAILURES, {"reason": "unavailable"}) == 1


async def test_the_gateways_models_read_every_answer_of_the_execution_api(
    client: httpx.AsyncClient, keys: dict[str, str], rig: Rig
) -> None:
    """The gateway documents and checks the execution JSON with its own models (it cannot
    import this package): they must accept what the views really produce, and keep it."""
    from pydantic import TypeAdapter

    from quant.gateway import schemas

    viewer, trader = bearer(keys["viewer"]), bearer(keys["trader"])
    sub = await rig.engine.submit(msg(intent(qty=10, price=250_000)))
    await rig.engine.on_broker_update(rig.broker.fill(sub.client_order_id, 4, 250_000))
    market = {k: v for k, v in ORDER.items() if k != "price"} | {"order_type": "MARKET"}
    placed = await client.post("/v1/orders", json=market, headers=trader)
    refused = await client.post("/v1/orders", json=ORDER | {"price": "2500.05"}, headers=trader)
    cid = placed.json()["client_order_id"]
    answers: list[tuple[Any, httpx.Response]] = [
        (list[schemas.OrderOut], await client.get("/v1/orders", headers=viewer)),
        (list[schemas.TradeOut], await client.get("/v1/trades", headers=viewer)),
        (list[schemas.PositionOut], await client.get("/v1/positions", headers=viewer)),
        (schemas.PnlOut, await client.get("/v1/pnl", headers=viewer)),
        (schemas.PlaceOrderOut, placed),
        (schemas.RejectionOut, refused),
        (schemas.OrderOut, await client.delete(f"/v1/orders/{cid}", headers=trader)),
        (
            schemas.TradingStateOut,
            await client.post("/v1/killswitch", json={"action": "halt"}, headers=trader),
        ),
    ]
    for model, response in answers:
        body = response.json()
        assert body, response.request.url
        adapter = TypeAdapter(model)
        assert adapter.dump_python(adapter.validate_python(body), mode="json") == body


async def test_a_body_that_is_not_even_text_is_422(
    client: httpx.AsyncClient, keys: dict[str, str], rig: Rig
) -> None:
    headers = bearer(keys["trader"]) | {"Content-Type": "application/json"}
    r = await client.post("/v1/orders", content=b"\xff\x00", headers=headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"
    assert rig.broker.placed == []
