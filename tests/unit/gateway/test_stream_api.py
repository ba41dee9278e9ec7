"""``/api/v1/stream`` over Starlette's TestClient: subscribe and get a quote once a tick
reaches the feeder, unsubscribe, bad requests and unknown symbols answered in words,
limits, account channels refused without a key (never silently), a key on the upgrade
request or in an ``auth`` message gets the order events and positions, a bad key closes
the connection, and a client that falls behind is told so and dropped."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from starlette.websockets import WebSocket, WebSocketDisconnect
from test_stream_hub import REL, T0, TCS, order, tick
from test_trading_api import POSITION_JSON, FakeExecution

from login_kit import PASSWORD, form_token
from quant.bus import codecs, topics
from quant.bus.inprocess import InProcessMessage
from quant.core.orders import OrderStatus
from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.feeder import apply_messages
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.settings import GatewaySettings
from quant.gateway.stream_auth import Authenticated
from quant.gateway.stream_hub import StreamHub
from quant.users.access import Denial
from quant.users.directory import Caller, UserDirectory
from quant.users.roles import Role
from users_kit import memory_directory, viewer_and_trader_keys

with warnings.catch_warnings():  # it would rather have httpx2; httpx works the same here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PATH = "/api/v1/stream"


class Gateway:
    def __init__(self, client: TestClient, state: LiveMarketState, keys: dict[str, str]) -> None:
        self.client = client
        self.state = state
        self.keys = keys
        self.hub: StreamHub = client.app.state.stream  # type: ignore[attr-defined]

    def feed(self, topic: str, value: bytes) -> None:
        """A bus message reaches the gateway's feeder (on the app's event loop)."""
        message = InProcessMessage(topic, 0, 0, b"k", value)
        assert self.client.portal is not None
        self.client.portal.call(apply_messages, self.state, [message], self.hub)


def _gateway(directory: UserDirectory, **settings: Any) -> Iterator[Gateway]:
    state = LiveMarketState()
    ports = GatewayPorts(
        state,
        InstrumentIndex.build([REL, TCS]),
        users=directory,
        accounts=directory,
        execution=FakeExecution(),
    )
    app = create_app(GatewaySettings(source="sim", **settings), ports)
    with TestClient(app) as client:
        yield Gateway(client, state, viewer_and_trader_keys(directory))


@pytest.fixture
def gw() -> Iterator[Gateway]:
    with memory_directory() as directory:
        yield from _gateway(directory, stream_max_symbols=2, stream_max_connections=3)


def welcome(ws: Any) -> dict[str, Any]:
    first: dict[str, Any] = ws.receive_json()
    assert first["type"] == "welcome"
    return first


def test_subscribe_then_a_tick_reaching_the_feeder_arrives_as_a_quote(gw: Gateway) -> None:
    with gw.client.websocket_connect(PATH) as ws:
        hello = welcome(ws)
        assert hello["user"] is None and "quotes" in hello["channels"]
        ws.send_json({"op": "subscribe", "channel": "quotes", "symbols": ["RELIANCE"]})
        assert ws.receive_json() == {
            "type": "subscribed", "channel": "quotes", "symbols": ["RELIANCE"],
            "instrument_keys": [REL.instrument_key],
        }  # fmt: skip
        gw.feed(topics.TICKS.name, codecs.encode_tick(tick(REL, 250_125)))
        quote = ws.receive_json()
        assert quote["channel"] == "quotes"
        assert quote["data"]["instrument_key"] == REL.instrument_key
        assert quote["data"]["last_price"] == "2501.25"
        ws.send_json({"op": "ping", "id": 7})
        assert ws.receive_json() == {"type": "pong", "id": 7}
        ws.send_json({"op": "unsubscribe", "channel": "quotes", "symbols": [REL.instrument_key]})
        assert ws.receive_json()["type"] == "unsubscribed"
        gw.feed(topics.TICKS.name, codecs.encode_tick(tick(REL, 250_200, T0 + 2)))
        ws.send_json({"op": "ping"})
        assert ws.receive_json()["type"] == "pong"  # no quote came in between


def test_a_subscribe_gets_the_current_quote_first(gw: Gateway) -> None:
    gw.feed(topics.TICKS.name, codecs.encode_tick(tick(TCS, 400_000)))
    with gw.client.websocket_connect(PATH) as ws:
        welcome(ws)
        ws.send_json({"op": "subscribe", "channel": "quotes", "symbols": ["TCS", "RELIANCE"]})
        assert ws.receive_json()["type"] == "subscribed"
        quote = ws.receive_json()
        assert quote["data"]["trading_symbol"] == "TCS" and quote["data"]["last_price"] == "4000.00"


def test_bad_requests_unknown_symbols_and_limits_are_answered_in_words(gw: Gateway) -> None:
    with gw.client.websocket_connect(PATH) as ws:
        welcome(ws)
        ws.send_text("not json")
        assert ws.receive_json()["code"] == "bad_request"
        ws.send_bytes(b'{"op": "ping"}')
        assert ws.receive_json()["message"] == "send JSON text"
        ws.send_json({"op": "subscribe", "channel": "news", "symbols": ["RELIANCE"]})
        bad = ws.receive_json()
        assert bad["code"] == "bad_request" and "unknown channel 'news'" in bad["message"]
        ws.send_json({"op": "subscribe", "channel": "quotes"})
        assert '"symbols"' in ws.receive_json()["message"]
        ws.send_json({"op": "subscribe", "channel": "quotes", "symbols": ["RELIANCE", "NOPE"]})
        unknown = ws.receive_json()
        assert unknown["code"] == "unknown_symbol" and unknown["symbols"] == ["NOPE"]
        ws.send_json({"op": "subscribe", "channel": "quotes", "symbols": ["RELIANCE", "TCS"]})
        assert ws.receive_json()["type"] == "subscribed"
        ws.send_json({"op": "subscribe", "channel": "quotes", "symbols": ["NSE_EQ|INE009A01021"]})
        assert ws.receive_json()["code"] == "unknown_symbol"
        ws.send_json({"op": "unsubscribe", "channel": "quotes", "symbols": ["TCS"]})
        assert ws.receive_json() == {
            "type": "unsubscribed", "channel": "quotes", "symbols": ["TCS"]
        }  # fmt: skip
        ws.send_json({"op": "subscribe", "channel": "enriched", "symbols": ["RELIANCE", "TCS"]})
        assert ws.receive_json()["type"] == "subscribed"  # the limit is per channel
        ws.send_json({"op": "dance"})
        assert "unknown op 'dance'" in ws.receive_json()["message"]


def test_the_stream_refuses_more_symbols_than_its_limit() -> None:
    with memory_directory() as directory:
        for g in _gateway(directory, stream_max_symbols=1):
            with g.client.websocket_connect(PATH) as ws:
                welcome(ws)
                ws.send_json(
                    {"op": "subscribe", "channel": "quotes", "symbols": ["RELIANCE", "TCS"]}
                )
                refused = ws.receive_json()
                assert refused["code"] == "limit"
                assert "at most 1 symbols per channel" in refused["message"]


def test_past_the_connection_limit_a_client_is_told_and_closed(gw: Gateway) -> None:
    with (
        gw.client.websocket_connect(PATH) as a,
        gw.client.websocket_connect(PATH) as b,
        gw.client.websocket_connect(PATH) as c,
    ):
        for ws in (a, b, c):
            welcome(ws)
        with gw.client.websocket_connect(PATH) as d:
            refused = d.receive_json()
            assert refused["code"] == "too_many_connections"
            with pytest.raises(WebSocketDisconnect) as closed:
                d.receive_json()
            assert closed.value.code == 1013


@pytest.mark.parametrize("channel", ["orders", "fills", "positions", "pnl"])
def test_account_channels_are_refused_without_a_key_in_words(gw: Gateway, channel: str) -> None:
    with gw.client.websocket_connect(PATH) as ws:
        welcome(ws)
        ws.send_json({"op": "subscribe", "channel": channel})
        refused = ws.receive_json()
        assert refused["type"] == "error" and refused["code"] == "auth_required"
        assert refused["channel"] == channel and "Authorization: Bearer" in refused["message"]
        gw.feed(topics.ORDERS.name, codecs.encode_order(order(OrderStatus.FILLED, 10, 2_500_000)))
        ws.send_json({"op": "ping"})
        assert ws.receive_json()["type"] == "pong"  # no order event leaked


def test_a_key_on_the_upgrade_request_gets_the_order_events(gw: Gateway) -> None:
    headers = {"Authorization": f"Bearer {gw.keys['viewer']}"}
    with gw.client.websocket_connect(PATH, headers=headers) as ws:
        assert welcome(ws)["user"] == "vera"
        for channel in ("orders", "fills"):
            ws.send_json({"op": "subscribe", "channel": channel})
            assert ws.receive_json() == {"type": "subscribed", "channel": channel}
        gw.feed(topics.ORDERS.name, codecs.encode_order(order(OrderStatus.FILLED, 10, 2_500_000)))
        placed, filled = ws.receive_json(), ws.receive_json()
        assert placed["channel"] == "orders" and placed["data"]["status"] == "FILLED"
        assert placed["data"]["client_order_id"] == "m-1"
        assert filled["channel"] == "fills" and filled["data"]["quantity"] == 10


def test_an_auth_message_unlocks_positions_asked_with_the_callers_key(gw: Gateway) -> None:
    key = gw.keys["trader"]
    with gw.client.websocket_connect(PATH) as ws:
        welcome(ws)
        ws.send_json({"op": "auth", "key": key})
        assert ws.receive_json() == {"type": "authenticated", "user": "tara", "role": "trader"}
        ws.send_json({"op": "subscribe", "channel": "positions"})
        assert ws.receive_json()["type"] == "subscribed"
        positions = ws.receive_json()
        assert positions == {
            "type": "data", "channel": "positions", "data": {"positions": [POSITION_JSON]}
        }  # fmt: skip
        execution: FakeExecution = gw.client.app.state.ports.execution  # type: ignore[attr-defined]
        assert execution.calls[-1].authorization == f"Bearer {key}"
        assert execution.calls[-1].path == "/v1/positions"


@pytest.mark.parametrize("how", ["header", "message"])
def test_a_wrong_key_is_told_and_the_connection_closed(gw: Gateway, how: str) -> None:
    wrong = gw.keys["viewer"][:-4] + "abcd"
    headers = {"Authorization": f"Bearer {wrong}"} if how == "header" else {}
    with gw.client.websocket_connect(PATH, headers=headers) as ws:
        if how == "message":
            welcome(ws)
            ws.send_json({"op": "auth", "key": wrong})
        refused = ws.receive_json()
        assert refused["code"] == "auth_failed" and refused["message"] == "wrong API key"
        assert wrong not in str(refused)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008


def test_a_client_that_falls_behind_is_told_and_dropped(gw: Gateway) -> None:
    headers = {"Authorization": f"Bearer {gw.keys['viewer']}"}
    with gw.client.websocket_connect(PATH, headers=headers) as ws:
        welcome(ws)
        ws.send_json({"op": "subscribe", "channel": "orders"})
        assert ws.receive_json()["type"] == "subscribed"
        [sub] = gw.hub._subscribers.values()
        capacity = sub.outbox.capacity
        # more order events in one feeder batch than the client's queue holds
        events = [
            InProcessMessage(
                topics.ORDERS.name, 0, i, b"k",
                codecs.encode_order(order(OrderStatus.OPEN, cid=f"m-{i}")),
            )
            for i in range(capacity + 1)
        ]  # fmt: skip
        assert gw.client.portal is not None
        gw.client.portal.call(apply_messages, gw.state, events, gw.hub)
        got = []
        while (message := ws.receive_json())["type"] == "data":
            got.append(message["data"]["client_order_id"])
        assert got == [f"m-{i}" for i in range(len(got))]  # in order; the rest is not sent
        dropped = message
        assert dropped["code"] == "slow_consumer" and "fell behind" in dropped["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008
    assert gw.hub.connections() == 0
    assert gw.hub.dropped["slow_consumer"] == 1


def test_a_session_check_plugged_into_the_app_authenticates_a_cookie(gw: Gateway) -> None:
    async def session_check(websocket: WebSocket) -> Authenticated | Denial | None:
        cookie = websocket.cookies.get("quant_session")
        if cookie is None:
            return None
        if cookie != "good":
            return Denial(401, "unknown", "your session has ended: log in again at /login")
        return Authenticated(Caller("sam", Role.VIEWER), "Bearer held-for-sam")

    gw.client.app.state.stream_session_check = session_check  # type: ignore[attr-defined]
    with gw.client.websocket_connect(PATH) as ws:
        assert welcome(ws)["user"] is None  # no cookie: anonymous
    gw.client.cookies.set("quant_session", "good")
    with gw.client.websocket_connect(PATH) as ws:
        assert welcome(ws)["user"] == "sam"
        ws.send_json({"op": "subscribe", "channel": "pnl"})
        assert ws.receive_json()["type"] == "subscribed"
        assert ws.receive_json()["channel"] == "pnl"
        execution: FakeExecution = gw.client.app.state.ports.execution  # type: ignore[attr-defined]
        assert execution.calls[-1].authorization == "Bearer held-for-sam"
    gw.client.cookies.set("quant_session", "stale")
    with gw.client.websocket_connect(PATH) as ws:
        assert ws.receive_json()["code"] == "auth_failed"
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()


def test_a_browser_session_from_the_login_page_opens_the_account_channels() -> None:
    with memory_directory() as directory:
        directory.create_user("sam", Role.VIEWER, PASSWORD)
        for g in _gateway(directory):
            page = g.client.get("/login")
            form = {"username": "sam", "password": PASSWORD, "csrf_token": form_token(page.text)}
            assert g.client.post("/login", data=form, follow_redirects=False).status_code == 303
            with g.client.websocket_connect(PATH) as ws:
                assert welcome(ws)["user"] == "sam"
                ws.send_json({"op": "subscribe", "channel": "positions"})
                assert ws.receive_json()["type"] == "subscribed"
                assert ws.receive_json()["channel"] == "positions"
            execution: FakeExecution = g.client.app.state.ports.execution  # type: ignore[attr-defined]
            # the key the gateway holds for the session's user, never the cookie
            assert execution.calls[-1].authorization.startswith("Bearer qk_")
            g.client.cookies.set("quant_session", "not-a-session")
            with g.client.websocket_connect(PATH) as ws:
                refused = ws.receive_json()
                assert refused["code"] == "auth_failed" and "log in again" in refused["message"]
