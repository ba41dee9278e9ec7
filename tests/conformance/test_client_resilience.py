"""Done-when checks of our clients against the simulator's failure modes.

Dropped socket → reconnect + resubscribe within 2 s; silent socket detected within 10 s;
expired token → a clear error and no retry storm (REST and feed); 2x Upstox's per-second
limits through our limiter → no 429 (and the same burst without it does get 429s, so the
simulator really enforces them); malformed frames and REST bodies → clear errors, no
crash; TLS with the simulator's CA; the ``/authorize`` path and a 307 redirect.

What the load test covers: the per-second windows (standard 50/s, orders 10/s) at twice
their rate for a couple of seconds. The per-minute and 30-minute windows are covered by
the fake-clock unit tests (tests/unit/upstox/test_ratelimit.py), not against the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sim_fixtures import RELIANCE, feed_config, our_client, rest_config, sim_config, sim_fixture  # noqa: F401

from quant.core.clock import SystemClock
from quant.core.events import FeedMode
from quant.sim.server import SimServer
from quant.upstox.errors import (
    UpstoxAuthError,
    UpstoxDecodeError,
    UpstoxRateLimitError,
    UpstoxTransportError,
)
from quant.upstox.feed import FeedConnected, FeedItem, UpstoxFeedClient
from quant.upstox.models import OrderRequest, OrderType, TransactionType
from quant.upstox.ratelimit import RateWindow, UpstoxRateLimits
from quant.upstox.rest import UpstoxRestClient
from quant.upstox.wire import FeedFrame

pytestmark = pytest.mark.conformance
INFY = "NSE_EQ|INE009A01021"


async def next_item(it: AsyncIterator[FeedItem], wait: float = 5.0) -> FeedItem:
    return await asyncio.wait_for(anext(it), wait)


async def next_tick_of(it: AsyncIterator[FeedItem], key: str, wait: float = 5.0) -> FeedFrame:
    async with asyncio.timeout(wait):
        while True:
            item = await anext(it)
            if isinstance(item, FeedFrame) and any(t.instrument_key == key for t in item.ticks):
                return item


def feed(sim: SimServer, token: str, **kw: object) -> UpstoxFeedClient:
    return UpstoxFeedClient(lambda: token, feed_config(sim, **kw), clock=SystemClock())


async def test_live_ticks_then_dropped_socket_reconnects_and_resubscribes_within_2s(
    sim: SimServer,
) -> None:
    async with feed(sim, sim.mint_token()) as client:
        await client.subscribe([RELIANCE], FeedMode.FULL)
        await client.subscribe([INFY], FeedMode.LTPC)
        it = aiter(client)
        frame = await next_tick_of(it, RELIANCE)
        tick = next(t for t in frame.ticks if t.instrument_key == RELIANCE)
        assert tick.ltp > 0 and len(tick.depth) == 5 and tick.ts_init > 0
        loop = asyncio.get_running_loop()
        dropped = loop.time()
        assert sim.drop_feeds() == 1
        while not isinstance(item := await next_item(it), FeedConnected):
            pass
        assert item.connection == 2 and item.resubscribed == 2
        await next_tick_of(it, RELIANCE, wait=2.0)
        await next_tick_of(it, INFY, wait=2.0)
        assert loop.time() - dropped < 2.0


async def test_silent_socket_is_detected_within_10s(sim: SimServer) -> None:
    async with feed(sim, sim.mint_token(), silence_timeout_seconds=5.0) as client:
        await client.subscribe([RELIANCE], FeedMode.LTPC)
        it = aiter(client)
        await next_tick_of(it, RELIANCE)
        loop = asyncio.get_running_loop()
        silenced = loop.time()
        assert sim.silence_feeds() == 1
        while not isinstance(await next_item(it, wait=10.0), FeedConnected):
            pass
        assert loop.time() - silenced < 10.0
        assert client.stats.silent_drops == 1
        await next_tick_of(it, RELIANCE)


async def test_quiet_but_pinging_socket_is_not_dropped() -> None:
    # Market data stops (frozen market) but the server keeps pinging every 0.5 s.
    cfg = sim_config(step_interval=3600.0, ping_interval=0.5)
    async with (
        SimServer(cfg) as sim,
        feed(sim, sim.mint_token(), silence_timeout_seconds=2.0) as client,
    ):
        it = aiter(client)
        await next_item(it)
        await asyncio.sleep(4.0)
        assert client.stats.silent_drops == 0 and client.stats.connections == 1


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts requests and can truncate response bodies (a damaged proxy)."""

    def __init__(self, ca: object = None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests = 0
        self.truncate = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        response = await self.inner.handle_async_request(request)
        if not self.truncate:
            return response
        body = await response.aread()
        return httpx.Response(response.status_code, headers={"content-type": "application/json"},
                              content=body[: len(body) // 2])  # fmt: skip

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_expired_token_is_a_clear_error_without_retry_storm(sim: SimServer) -> None:
    token = sim.mint_token()
    transport = CountingTransport()
    async with (
        UpstoxRestClient(lambda: token, rest_config(sim), transport=transport) as api,
        feed(sim, token) as client,
    ):
        await client.subscribe([RELIANCE], FeedMode.LTPC)
        it = aiter(client)
        await next_tick_of(it, RELIANCE)
        sim.expire_tokens()
        with pytest.raises(UpstoxAuthError, match="UDAPI100050"):
            await api.ltp([RELIANCE])
        assert transport.requests == 1
        sim.drop_feeds()  # the reconnect meets the expired token: 401, stop
        with pytest.raises(UpstoxAuthError, match="HTTP 401"):
            while True:
                await next_item(it)
        await asyncio.sleep(1.0)
        assert client.stats.handshake_failures == 1 and client.stats.connections == 1


async def test_twice_the_per_second_limits_through_our_limiter_gets_no_429(sim: SimServer) -> None:
    token = sim.mint_token()
    async with our_client(sim, token) as api:
        ltp = (await api.ltp([RELIANCE]))[RELIANCE].last_price
        started = time.monotonic()
        quotes = await asyncio.gather(*(api.ltp([RELIANCE]) for _ in range(100)))  # 2 x 50/s
        assert len(quotes) == 100 and time.monotonic() - started >= 1.0
        low = (ltp * 9 // 10) // 10 * 10
        order = OrderRequest(RELIANCE, 1, TransactionType.BUY, OrderType.LIMIT, price=low)
        started = time.monotonic()
        acks = await asyncio.gather(*(api.place_order(order) for _ in range(20)))  # 2 x 10/s
        assert len({a.order_ids[0] for a in acks}) == 20 and time.monotonic() - started >= 1.0
    # Control: the same order burst with the limiter opened up does hit the server's 429.
    wide = UpstoxRateLimits(order_windows=(RateWindow(10_000, 1),))
    async with UpstoxRestClient(lambda: token, rest_config(sim), limits=wide) as api:
        await asyncio.sleep(1.1)
        results = await asyncio.gather(
            *(api.place_order(order) for _ in range(40)), return_exceptions=True
        )
    assert any(isinstance(r, UpstoxRateLimitError) for r in results)


async def test_malformed_frames_and_bodies_are_clear_errors_not_crashes(sim: SimServer) -> None:
    async with feed(sim, sim.mint_token()) as client:
        await client.subscribe([RELIANCE], FeedMode.LTPC)
        it = aiter(client)
        await next_tick_of(it, RELIANCE)
        for conn in sim.feed_hub.conns:  # inject damaged frames into the live socket
            conn.offer(b"\xff\xfe not a protobuf")
            conn.offer(b"\x12\x05abc")
        await next_tick_of(it, RELIANCE)
        await next_tick_of(it, RELIANCE)
        assert client.stats.decode_errors == 2 and client.stats.connections == 1
    transport = CountingTransport()
    token = sim.mint_token()
    async with UpstoxRestClient(lambda: token, rest_config(sim), transport=transport) as api:
        transport.truncate = True
        with pytest.raises(UpstoxDecodeError, match="not JSON"):
            await api.ltp([RELIANCE])
        transport.truncate = False
        assert RELIANCE in await api.ltp([RELIANCE])  # the client is still usable


async def test_tls_with_the_simulator_ca_and_the_authorize_path() -> None:
    async with SimServer(sim_config(tls=True, redirect_status=307)) as sim:
        token = sim.mint_token()
        assert sim.ca_file is not None
        async with our_client(sim, token) as api:
            assert RELIANCE in await api.ltp([RELIANCE])
            authorize_cfg = feed_config(sim, use_authorize=True)
            async with UpstoxFeedClient(
                lambda: token, authorize_cfg, authorizer=api.authorize_feed
            ) as client:
                await client.subscribe([RELIANCE], FeedMode.FULL)
                await next_tick_of(aiter(client), RELIANCE)
        async with feed(sim, token) as client:  # straight to the feed URL, 307 redirect
            await client.subscribe([RELIANCE], FeedMode.LTPC)
            await next_tick_of(aiter(client), RELIANCE)
        untrusted = rest_config(sim).__class__(api_base=sim.base_url, max_retries=0)
        async with UpstoxRestClient(lambda: token, untrusted) as api:
            with pytest.raises(UpstoxTransportError, match="CERTIFICATE_VERIFY_FAILED"):
                await api.ltp([RELIANCE])
