"""The gateway's trading endpoints over a fake execution service: the role is checked before
anything is forwarded, the caller's key and the request go on unchanged, the symbol is
resolved here, answers are passed on in the documented shapes (201, 404, 409, 422 with a
reason code), and an execution service that is missing, down or odd is 503/502, never 500."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, NamedTuple

import httpx
import pytest

from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.ports import ExecutionReply, ExecutionUnavailable
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings
from quant.users.directory import UserDirectory
from quant.users.roles import Role
from users_kit import memory_directory, viewer_and_trader_keys

REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY,
)  # fmt: skip
ORDER_JSON = {
    "client_order_id": "manual-261207-1", "broker_order_id": "P1", "strategy": "manual",
    "instrument_key": REL.instrument_key, "side": "BUY", "order_type": "LIMIT", "product": "I",
    "validity": "DAY", "quantity": 10, "filled_quantity": 0, "price": "2500.00",
    "trigger_price": "0.00", "average_price": "0.00", "status": "OPEN", "reason": "",
    "message": "", "submitted_at": "2026-12-07T04:30:00Z", "updated_at": "2026-12-07T04:30:00Z",
    "mode": "paper", "algo_name": "",
}  # fmt: skip
CHARGES = {k: "0.00" for k in ("brokerage", "stt", "exchange", "sebi", "stamp", "gst", "ipft",
                               "dp")} | {"total": "0.00"}  # fmt: skip
TRADE_JSON = {
    "client_order_id": "manual-261207-1", "broker_order_id": "P1", "strategy": "manual",
    "instrument_key": REL.instrument_key, "side": "BUY", "product": "I", "quantity": 10,
    "price": "2500.00", "value": "25000.00", "charges": CHARGES | {"brokerage": "7.50",
    "total": "7.50"}, "time": "2026-12-07T04:30:01Z",
}  # fmt: skip
POSITION_JSON = {
    "strategy": "manual", "instrument_key": REL.instrument_key, "product": "I", "quantity": 10,
    "average_price": "2500.00", "last_price": None, "realised": "0.00", "unrealised": "0.00",
}  # fmt: skip
PART = {"realised": "0.00", "unrealised": "-5.00", "charges": "7.50", "net": "-12.50"}
STATES = {"account": "ACTIVE", "strategies": {"orb": "HALTED"}}
PNL_JSON = PART | {"strategies": {"manual": PART}, "state": STATES}
PLACE = {"symbol": "RELIANCE", "side": "BUY", "quantity": 10, "order_type": "LIMIT",
         "product": "I", "price": "2500.00"}  # fmt: skip


class Call(NamedTuple):
    method: str
    path: str
    authorization: str
    params: Mapping[str, str | int] | None
    body: Any


class FakeExecution:
    """The execution service as the gateway's port sees it: canned replies, calls recorded."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.replies: dict[tuple[str, str], ExecutionReply] = {
            ("GET", "/v1/orders"): ExecutionReply(200, [ORDER_JSON]),
            ("GET", "/v1/trades"): ExecutionReply(200, [TRADE_JSON]),
            ("GET", "/v1/positions"): ExecutionReply(200, [POSITION_JSON]),
            ("GET", "/v1/pnl"): ExecutionReply(200, PNL_JSON),
            ("POST", "/v1/orders"): ExecutionReply(
                201, {"client_order_id": "manual-261207-1", "orders": [ORDER_JSON]}
            ),
            ("DELETE", "/v1/orders/manual-261207-1"): ExecutionReply(
                200, ORDER_JSON | {"status": "CANCEL_PENDING"}
            ),
            ("PATCH", "/v1/orders/manual-261207-1"): ExecutionReply(
                200, ORDER_JSON | {"status": "MODIFY_PENDING"}
            ),
            ("POST", "/v1/killswitch"): ExecutionReply(200, STATES),
        }
        self.down = ""

    async def request(
        self,
        method: str,
        path: str,
        *,
        authorization: str,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
    ) -> ExecutionReply:
        self.calls.append(Call(method, path, authorization, params, body))
        if self.down:
            raise ExecutionUnavailable(self.down)
        return self.replies[(method, path)]


# (method, gateway path, body, role needed, the execution path it goes to)
ROUTES: list[tuple[str, str, dict[str, Any] | None, Role, str]] = [
    ("GET", "/api/v1/orders", None, Role.VIEWER, "/v1/orders"),
    ("GET", "/api/v1/trades", None, Role.VIEWER, "/v1/trades"),
    ("GET", "/api/v1/positions", None, Role.VIEWER, "/v1/positions"),
    ("GET", "/api/v1/pnl", None, Role.VIEWER, "/v1/pnl"),
    ("POST", "/api/v1/orders", PLACE, Role.TRADER, "/v1/orders"),
    ("DELETE", "/api/v1/orders/manual-261207-1", None, Role.TRADER, "/v1/orders/manual-261207-1"),
    ("PATCH", "/api/v1/orders/manual-261207-1", {"price": "2501.00"}, Role.TRADER,
     "/v1/orders/manual-261207-1"),
    ("POST", "/api/v1/killswitch", {"action": "halt"}, Role.TRADER, "/v1/killswitch"),
]  # fmt: skip


@pytest.fixture
def directory() -> Iterator[UserDirectory]:
    with memory_directory() as users:
        yield users


@pytest.fixture
def keys(directory: UserDirectory) -> dict[str, str]:
    return viewer_and_trader_keys(directory)


@pytest.fixture
def execution() -> FakeExecution:
    return FakeExecution()


def _client(directory: UserDirectory, execution: FakeExecution | None) -> httpx.AsyncClient:
    ports = GatewayPorts(
        LiveMarketState(), InstrumentIndex.build([REL]), users=directory, execution=execution
    )
    transport = httpx.ASGITransport(app=create_app(GatewaySettings(), ports))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture
async def client(
    directory: UserDirectory, execution: FakeExecution
) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(directory, execution) as c:
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_the_role_is_checked_before_anything_is_forwarded(
    client: httpx.AsyncClient, execution: FakeExecution, keys: dict[str, str]
) -> None:
    for method, path, body, role, _ in ROUTES:
        r = await client.request(method, path, json=body)
        assert r.status_code == 401, (method, path)
        assert r.headers["www-authenticate"] == "Bearer"
        if role is Role.TRADER:
            r = await client.request(method, path, json=body, headers=bearer(keys["viewer"]))
            assert r.status_code == 403, (method, path)
            assert "needs the role trader" in r.json()["detail"]
    # a malformed body without a key is 401 too: who asks is checked first
    r = await client.post("/api/v1/orders", json={"symbol": 5})
    assert r.status_code == 401
    assert execution.calls == []


async def test_each_endpoint_forwards_the_key_and_passes_the_answer_on(
    client: httpx.AsyncClient, execution: FakeExecution, keys: dict[str, str]
) -> None:
    key = keys["trader"]
    for method, path, body, _role, target in ROUTES:
        r = await client.request(method, path, json=body, headers=bearer(key))
        assert r.status_code == execution.replies[(method, target)].status, (path, r.text)
        assert r.json() == execution.replies[(method, target)].body
        call = execution.calls[-1]
        assert (call.method, call.path, call.authorization) == (method, target, f"Bearer {key}")
    assert execution.calls[0].params == {"limit": 100}  # orders
    assert execution.calls[1].params == {"limit": 50}  # trades: the seed's default
    await client.get("/api/v1/trades?limit=7", headers=bearer(key))
    assert execution.calls[-1].params == {"limit": 7}
    assert (await client.get("/api/v1/trades?limit=0", headers=bearer(key))).status_code == 422


async def test_an_order_names_a_symbol_the_gateway_resolves_and_rupee_strings_go_on(
    client: httpx.AsyncClient, execution: FakeExecution, keys: dict[str, str]
) -> None:
    stop = {"symbol": "RELIANCE", "side": "SELL", "quantity": 5, "order_type": "SL",
            "product": "D", "price": "2490.00", "trigger_price": "2495.5", "strategy": "orb",
            "validity": "IOC"}  # fmt: skip
    r = await client.post("/api/v1/orders", json=stop, headers=bearer(keys["trader"]))
    assert r.status_code == 201, r.text
    assert execution.calls[-1].body == {
        "instrument_key": REL.instrument_key, "side": "SELL", "quantity": 5, "order_type": "SL",
        "product": "D", "price": "2490.00", "trigger_price": "2495.5", "validity": "IOC",
        "strategy": "orb",
    }  # fmt: skip
    by_key = PLACE | {"symbol": REL.instrument_key, "order_type": "MARKET"}
    del by_key["price"]
    await client.post("/api/v1/orders", json=by_key, headers=bearer(keys["trader"]))
    sent = execution.calls[-1].body
    assert sent["instrument_key"] == REL.instrument_key
    assert (sent["strategy"], sent["validity"], sent["price"]) == ("manual", "DAY", None)


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"symbol": "NOSUCH"}, ["body", "symbol"]),
        ({"symbol": "NSE_EQ|"}, ["body", "symbol"]),  # a malformed instrument_key
        ({"symbol": "bad\nsymbol"}, ["body", "symbol"]),
        ({"price": "2500.001"}, ["body", "price"]),
        ({"price": "-1"}, ["body", "price"]),
        ({"price": 2500.5}, ["body", "price"]),  # strings, never floats
        ({"trigger_price": "1e3"}, ["body", "trigger_price"]),
        ({"quantity": 0}, ["body", "quantity"]),
        ({"quantity": "ten"}, ["body", "quantity"]),
        ({"side": "HOLD"}, ["body", "side"]),
        ({"order_type": "STOP"}, ["body", "order_type"]),
        ({"product": "MIS"}, ["body", "product"]),
        ({"validity": "GTC"}, ["body", "validity"]),
        ({"strategy": "a b"}, ["body", "strategy"]),
        ({"qty": 10}, ["body", "qty"]),
        ({"side": None}, ["body", "side"]),  # a required field missing
    ],
)
async def test_a_malformed_order_is_a_clear_422_and_is_not_forwarded(
    client: httpx.AsyncClient,
    execution: FakeExecution,
    keys: dict[str, str],
    change: dict[str, Any],
    loc: list[str],
) -> None:
    body = {k: v for k, v in (PLACE | change).items() if v is not None}
    r = await client.post("/api/v1/orders", json=body, headers=bearer(keys["trader"]))
    assert r.status_code == 422, r.text
    issue = r.json()["detail"][0]
    assert issue["loc"] == loc
    assert issue["msg"] and "bad\n" not in str(r.json())
    assert execution.calls == []
    if change.get("symbol") == "NOSUCH":
        assert "unknown symbol 'NOSUCH'" in issue["msg"]


async def test_a_refused_order_is_422_with_the_reason_code(
    client: httpx.AsyncClient, execution: FakeExecution, keys: dict[str, str]
) -> None:
    refusal = {"detail": {"code": "LOT_SIZE", "message": "quantity 10 is not a multiple of 75"}}
    execution.replies[("POST", "/v1/orders")] = ExecutionReply(422, refusal)
    r = await client.post("/api/v1/orders", json=PLACE, headers=bearer(keys["trader"]))
    assert r.status_code == 422
    assert r.json() == refusal
    # the domain's price rules are checked by the execution service: passed on as they are
    issues = [{"loc": ["body"], "msg": "a LIMIT order needs a price > 0", "type": "value_error"}]
    execution.replies[("POST", "/v1/orders")] = ExecutionReply(422, {"detail": issues})
    r = await client.post("/api/v1/orders", json=PLACE, headers=bearer(keys["trader"]))
    assert (r.status_code, r.json()) == (422, {"detail": issues})


@pytest.mark.parametrize("status", [404, 409, 401, 403])
async def test_the_execution_services_refusals_are_passed_on(
    client: httpx.AsyncClient, execution: FakeExecution, keys: dict[str, str], status: int
) -> None:
    detail = {"detail": f"refused with {status}"}
    execution.replies[("DELETE", "/v1/orders/manual-261207-1")] = ExecutionReply(status, detail)
    r = await client.delete("/api/v1/orders/manual-261207-1", headers=bearer(keys["trader"]))
    assert (r.status_code, r.json()) == (status, detail)


async def test_a_modification_goes_on_with_only_the_fields_given(
    client: httpx.AsyncClient, execution: FakeExecution, keys: dict[str, str]
) -> None:
    path = "/api/v1/orders/manual-261207-1"
    r = await client.patch(path, json={"price": "2501.00"}, headers=bearer(keys["trader"]))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "MODIFY_PENDING"
    assert execution.calls[-1].body == {"price": "2501.00"}
    empty = await client.patch(path, json={}, headers=bearer(keys["trader"]))
    assert empty.status_code == 422
    assert "at least one field" in empty.json()["detail"][0]["msg"]
    rule = {"detail": {"code": "TICK_SIZE", "message": "off the tick"}}
    execution.replies[("PATCH", "/v1/orders/manual-261207-1")] = ExecutionReply(422, rule)
    refused = await client.patch(path, json={"price": "2500.05"}, headers=bearer(keys["trader"]))
    assert (refused.status_code, refused.json()) == (422, rule)


async def test_a_client_order_id_is_checked_before_it_goes_into_a_url(
    client: httpx.AsyncClient, execution: FakeExecution, keys: dict[str, str]
) -> None:
    for bad in ("UPPER-1", "a_b", "x" * 41, "..", "a%2Fb"):
        r = await client.delete(f"/api/v1/orders/{bad}", headers=bearer(keys["trader"]))
        assert r.status_code in (404, 422), bad
    assert execution.calls == []


async def test_an_execution_service_that_is_down_or_missing_is_503_never_500(
    directory: UserDirectory, execution: FakeExecution, keys: dict[str, str]
) -> None:
    execution.down = "the execution service at http://127.0.0.1:1 cannot be reached"
    async with _client(directory, execution) as client:
        for method, path, body, _role, _ in ROUTES:
            r = await client.request(method, path, json=body, headers=bearer(keys["trader"]))
            assert r.status_code == 503, (path, r.text)
            assert r.json()["detail"] == execution.down
            assert r.headers["retry-after"] == "5"
    async with _client(directory, None) as client:
        r = await client.get("/api/v1/orders", headers=bearer(keys["viewer"]))
        assert r.status_code == 503
        assert "QUANT_GATEWAY__EXECUTION_URL" in r.json()["detail"]
    recovering = {"detail": "the execution service is still recovering its orders"}
    execution.down = ""
    execution.replies[("GET", "/v1/pnl")] = ExecutionReply(503, recovering)
    async with _client(directory, execution) as client:
        r = await client.get("/api/v1/pnl", headers=bearer(keys["viewer"]))
        assert (r.status_code, r.json()) == (503, recovering)


@pytest.mark.parametrize(
    "reply",
    [
        ExecutionReply(200, {"not": "a list"}),
        ExecutionReply(200, [ORDER_JSON | {"side": "SIDEWAYS"}]),
        ExecutionReply(200, None),  # not JSON at all
        ExecutionReply(500, {"detail": "Internal Server Error"}),
        ExecutionReply(422, {"detail": {"code": 5}}),
    ],
)
async def test_an_answer_the_gateway_cannot_read_is_502(
    client: httpx.AsyncClient, execution: FakeExecution, keys: dict[str, str], reply: Any
) -> None:
    execution.replies[("GET", "/v1/orders")] = reply
    r = await client.get("/api/v1/orders", headers=bearer(keys["viewer"]))
    assert r.status_code == 502
    assert f"answered HTTP {reply.status}" in r.json()["detail"]


async def test_the_openapi_documents_every_trading_body_and_answer(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    expected = {
        ("/api/v1/orders", "get"): {"200", "401", "403", "422", "502", "503"},
        ("/api/v1/trades", "get"): {"200", "401", "403", "422", "502", "503"},
        ("/api/v1/positions", "get"): {"200", "401", "403", "422", "502", "503"},
        ("/api/v1/pnl", "get"): {"200", "401", "403", "422", "502", "503"},
        ("/api/v1/orders", "post"): {"201", "401", "403", "422", "502", "503"},
        ("/api/v1/orders/{client_order_id}", "delete"): {
            "200", "401", "403", "404", "409", "422", "502", "503",
        },
        ("/api/v1/killswitch", "post"): {"200", "401", "403", "422", "502", "503"},
    }  # fmt: skip
    for (path, method), codes in expected.items():
        op = paths[path][method]
        assert set(op["responses"]) == codes, (path, method)
        assert op["security"] == [{"bearer": []}]
        for code in codes:
            assert "application/json" in op["responses"][code]["content"], (path, code)
    place = paths["/api/v1/orders"]["post"]
    assert place["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PlaceOrderIn"
    }
    rejected = place["responses"]["422"]["content"]["application/json"]["schema"]
    refs = {s["$ref"].rsplit("/", 1)[1] for s in rejected["anyOf"]}
    assert refs == {"RejectionOut", "ValidationErrorOut"}
    schemas = spec["components"]["schemas"]
    assert schemas["PlaceOrderIn"]["required"] == [
        "symbol", "side", "quantity", "order_type", "product",
    ]  # fmt: skip
    assert schemas["PlaceOrderIn"]["additionalProperties"] is False
    assert "dp" in schemas["ChargesOut"]["properties"]
    assert "KillSwitchIn" in schemas and "PnlOut" in schemas


async def test_a_body_that_is_not_even_text_is_a_422_not_an_undocumented_400(
    client: httpx.AsyncClient, execution: FakeExecution, keys: dict[str, str]
) -> None:
    headers = bearer(keys["trader"]) | {"Content-Type": "application/json"}
    for path in ("/api/v1/orders", "/api/v1/killswitch"):
        r = await client.post(path, content=b"\xff\x00\xfe", headers=headers)
        assert r.status_code == 422, r.text
        assert r.json() == {
            "detail": [{"loc": ["body"], "msg": "the body is not JSON (UTF-8)",
                        "type": "json_invalid"}]
        }  # fmt: skip
    assert execution.calls == []
