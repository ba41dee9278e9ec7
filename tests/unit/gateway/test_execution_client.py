"""The gateway's httpx adapter to the execution service: what it sends, and how "down",
"slow" and "broken" become ``ExecutionUnavailable`` with words for the caller (no key)."""

from __future__ import annotations

import socket

import httpx
import pytest

from quant.gateway.execution_client import ExecutionClient
from quant.gateway.ports import ExecutionReply, ExecutionUnavailable

KEY = "Bearer qk_0123456789ab_" + "s" * 43


async def test_the_request_goes_on_with_the_callers_key_params_and_body() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"client_order_id": "manual-261207-1", "orders": []})

    client = ExecutionClient("http://execution:8081/", transport=httpx.MockTransport(answer))
    reply = await client.request(
        "POST", "/v1/orders", authorization=KEY, params={"limit": 5}, body={"side": "BUY"}
    )
    await client.aclose()
    assert reply == ExecutionReply(201, {"client_order_id": "manual-261207-1", "orders": []})
    (request,) = seen
    assert str(request.url) == "http://execution:8081/v1/orders?limit=5"
    assert request.headers["authorization"] == KEY
    assert request.content == b'{"side":"BUY"}'


async def test_a_body_that_is_not_json_is_none() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(502, text="<html>bad gateway"))
    client = ExecutionClient("http://execution:8081", transport=transport)
    assert await client.request("GET", "/v1/pnl", authorization=KEY) == ExecutionReply(502, None)
    await client.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_nothing_listening_is_unavailable_with_a_clear_message() -> None:
    client = ExecutionClient(f"http://127.0.0.1:{_free_port()}")  # a real refused connection
    with pytest.raises(ExecutionUnavailable) as caught:
        await client.request("GET", "/v1/orders", authorization=KEY)
    await client.aclose()
    message = str(caught.value)
    assert "cannot be reached" in message and "quant execution" in message
    assert "qk_" not in message


@pytest.mark.parametrize(
    ("error", "method", "words"),
    [
        (httpx.ReadTimeout("slow"), "GET", "did not answer within 3 s"),
        (httpx.ReadTimeout("slow"), "POST", "may still take effect: check GET /api/v1/orders"),
        (httpx.ConnectTimeout("no"), "POST", "does not accept connections"),
        (httpx.RemoteProtocolError("cut"), "DELETE", "cannot be reached"),
    ],
)
async def test_timeouts_and_broken_connections_are_unavailable(
    error: Exception, method: str, words: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    client = ExecutionClient("http://execution:8081", 3.0, transport=httpx.MockTransport(fail))
    with pytest.raises(ExecutionUnavailable, match=words):
        await client.request(method, "/v1/orders", authorization=KEY)
    await client.aclose()
