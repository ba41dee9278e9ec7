"""The feed client against a local websockets server: redirects, resubscription,
silent sockets, auth failures, malformed frames and backpressure."""

from __future__ import annotations

import asyncio

import pytest
from feed_server import TOKEN, FakeFeedServer
from upstox_frames import TS_MS, full_equity_frame, ltpc_frame, market_info_frame

from quant.core.clock import FakeClock
from quant.core.events import FeedMode
from quant.upstox.config import FeedConfig
from quant.upstox.errors import FeedSubscriptionLimitError, UpstoxAuthError
from quant.upstox.feed import FeedConnected, FeedItem, UpstoxFeedClient
from quant.upstox.wire import FeedFrame, FrameKind

CLOCK = FakeClock(1_764_000_000_999_000_000)


def config(server: FakeFeedServer, **kw: object) -> FeedConfig:
    base = {
        "api_base": server.base,
        "silence_timeout_seconds": 5.0,
        "reconnect_base_seconds": 0.01,
        "reconnect_max_seconds": 0.05,
        "open_timeout_seconds": 2.0,
    }
    base.update(kw)
    return FeedConfig(**base)  # type: ignore[arg-type]


async def next_item(it: object, wait: float = 3.0) -> FeedItem:
    return await asyncio.wait_for(anext(it), wait)  # type: ignore[call-overload]


async def next_frame(it: object) -> FeedFrame:
    while True:
        item = await next_item(it)
        if isinstance(item, FeedFrame):
            return item


@pytest.mark.parametrize("status", [302, 307])
async def test_follows_redirect_subscribes_in_binary_and_decodes(status: int) -> None:
    server = FakeFeedServer(redirect_status=status)
    async with (
        server.running(),
        UpstoxFeedClient(lambda: TOKEN, config(server), clock=CLOCK) as feed,
    ):
        await feed.subscribe(["NSE_EQ|INE002A01018"], FeedMode.FULL)
        it = aiter(feed)
        first = await next_item(it)
        assert isinstance(first, FeedConnected) and first.connection == 1
        await asyncio.wait_for(server.subscribed.wait(), 3)
        server.outbox.put_nowait(market_info_frame())
        server.outbox.put_nowait(full_equity_frame())
        info = await next_frame(it)
        assert info.kind is FrameKind.MARKET_INFO
        frame = await next_frame(it)
        (tick,) = frame.ticks
        assert tick.ltp == 123455 and tick.ts_init == CLOCK.now_ns()
        assert tick.ts_event == TS_MS * 1_000_000
    assert server.text_frames == 0
    assert server.requests[0]["method"] == "sub"
    assert server.requests[0]["data"] == {"instrumentKeys": ["NSE_EQ|INE002A01018"], "mode": "full"}


async def test_dropped_socket_reconnects_and_resubscribes_quickly() -> None:
    server = FakeFeedServer()
    async with (
        server.running(),
        UpstoxFeedClient(lambda: TOKEN, config(server), clock=CLOCK) as feed,
    ):
        it = aiter(feed)
        await next_item(it)
        await feed.subscribe(["NSE_EQ|A1", "NSE_EQ|B2"], FeedMode.LTPC)
        await feed.subscribe(["NSE_FO|7"], FeedMode.FULL)
        await asyncio.wait_for(server.subscribed.wait(), 3)
        server.subscribed.clear()
        loop = asyncio.get_running_loop()
        dropped_at = loop.time()
        await server.drop()
        again = await next_item(it)
        assert isinstance(again, FeedConnected)
        assert again.connection == 2 and again.resubscribed == 3
        await asyncio.wait_for(server.subscribed.wait(), 3)
        assert loop.time() - dropped_at < 2.0
        server.outbox.put_nowait(ltpc_frame({"NSE_EQ|A1": 10.5}))
        assert (await next_frame(it)).ticks[0].ltp == 1050
    replay = [r["data"] for r in server.requests[-2:]]
    assert {"instrumentKeys": ["NSE_FO|7"], "mode": "full"} in replay
    assert {"instrumentKeys": ["NSE_EQ|A1", "NSE_EQ|B2"], "mode": "ltpc"} in replay


async def test_silent_socket_is_detected_and_replaced() -> None:
    server = FakeFeedServer()
    server.silent = True
    async with server.running():
        cfg = config(server, silence_timeout_seconds=0.5, ping_interval_seconds=None)
        async with UpstoxFeedClient(lambda: TOKEN, cfg, clock=CLOCK) as feed:
            it = aiter(feed)
            await next_item(it)
            server.silent = False
            started = asyncio.get_running_loop().time()
            again = await next_item(it, wait=3)
            assert isinstance(again, FeedConnected) and again.connection == 2
            assert asyncio.get_running_loop().time() - started < 1.5
            assert feed.stats.silent_drops == 1


async def test_server_pings_keep_a_quiet_socket_alive() -> None:
    server = FakeFeedServer(ping_interval=0.1)
    server.silent = True
    async with server.running():
        cfg = config(server, silence_timeout_seconds=0.5, ping_interval_seconds=None)
        async with UpstoxFeedClient(lambda: TOKEN, cfg, clock=CLOCK) as feed:
            it = aiter(feed)
            await next_item(it)
            with pytest.raises(TimeoutError):
                await next_item(it, wait=1.5)
            assert feed.stats.silent_drops == 0 and feed.stats.connections == 1


async def test_a_refused_token_stops_without_retrying() -> None:
    server = FakeFeedServer()
    async with (
        server.running(),
        UpstoxFeedClient(lambda: "expired", config(server), clock=CLOCK) as feed,
    ):
        with pytest.raises(UpstoxAuthError, match="HTTP 401"):
            await next_item(aiter(feed))
        await asyncio.sleep(0.2)
        with pytest.raises(UpstoxAuthError):  # the stream stays ended
            await next_item(aiter(feed))
    assert server.handshakes == 1


async def test_a_403_is_retried_with_backoff_until_the_server_accepts() -> None:
    """403 is Upstox's "too many connections": connections freed later let us in."""
    server = FakeFeedServer()
    server.reject_status = 403
    async with (
        server.running(),
        UpstoxFeedClient(lambda: TOKEN, config(server), clock=CLOCK) as feed,
    ):
        it = aiter(feed)
        async with asyncio.timeout(3):
            while True:
                if feed.stats.forbidden >= 3:
                    break
                await asyncio.sleep(0.01)
        server.reject_status = None
        item = await next_item(it)
        assert isinstance(item, FeedConnected) and item.connection == 1
        assert feed.stats.forbidden == feed.stats.handshake_failures >= 3


async def test_a_refused_token_is_waited_out_by_on_token_refused() -> None:
    """With ``on_token_refused`` the client awaits a new token and reconnects, keeping
    its subscriptions, instead of ending."""
    server = FakeFeedServer()
    current = ["revoked-token"]
    calls: list[tuple[str | None, int | None]] = []

    async def new_token(refused: str | None, error: UpstoxAuthError) -> None:
        calls.append((refused, error.status))
        await asyncio.sleep(0.1)
        current[0] = TOKEN

    async with (
        server.running(),
        UpstoxFeedClient(
            lambda: current[0], config(server), clock=CLOCK, on_token_refused=new_token
        ) as feed,
    ):
        await feed.subscribe(["NSE_EQ|A1"], FeedMode.LTPC)
        item = await next_item(aiter(feed))
        assert isinstance(item, FeedConnected) and item.resubscribed == 1
    assert calls == [("revoked-token", 401)]
    assert feed.stats.token_refusals == 1 and server.handshakes == 2


async def test_malformed_frames_are_counted_not_fatal() -> None:
    server = FakeFeedServer()
    async with (
        server.running(),
        UpstoxFeedClient(lambda: TOKEN, config(server), clock=CLOCK) as feed,
    ):
        it = aiter(feed)
        await next_item(it)
        await feed.subscribe(["NSE_EQ|A1"], FeedMode.LTPC)  # ticks of other keys are dropped
        server.outbox.put_nowait(b"\xff\x00garbage")
        server.outbox.put_nowait("a text frame")
        server.outbox.put_nowait(ltpc_frame({"NSE_EQ|A1": 1.0}))
        frame = await next_frame(it)
        assert frame.ticks[0].ltp == 100
        assert feed.stats.decode_errors == 2 and feed.stats.connections == 1


async def test_slow_consumer_gets_backpressure_not_drops() -> None:
    server = FakeFeedServer()
    async with server.running():
        cfg = config(server, queue_size=2)
        async with UpstoxFeedClient(lambda: TOKEN, cfg, clock=CLOCK) as feed:
            it = aiter(feed)
            await next_item(it)
            await feed.subscribe(["NSE_EQ|A1"], FeedMode.LTPC)
            for i in range(1, 51):
                server.outbox.put_nowait(ltpc_frame({"NSE_EQ|A1": float(i)}))
            seen = []
            for _ in range(50):
                seen.append((await next_frame(it)).ticks[0].ltp)
                await asyncio.sleep(0.001)
            assert seen == [i * 100 for i in range(1, 51)]


async def test_limits_are_enforced_before_sending() -> None:
    server = FakeFeedServer()
    async with (
        server.running(),
        UpstoxFeedClient(lambda: TOKEN, config(server), clock=CLOCK) as feed,
    ):
        it = aiter(feed)
        await next_item(it)
        with pytest.raises(FeedSubscriptionLimitError):
            await feed.subscribe([f"NSE_FO|{i}" for i in range(2001)], FeedMode.FULL)
        assert len(feed.book) == 0  # all or none
        with pytest.raises(ValueError, match="malformed instrument_key"):
            await feed.subscribe(["NSE_FO|1", "RELIANCE"], FeedMode.FULL)
        await feed.subscribe(["NSE_FO|1"], FeedMode.FULL)
        await feed.change_mode(["NSE_FO|1"], FeedMode.LTPC)
        await feed.unsubscribe(["NSE_FO|1"])
        await asyncio.sleep(0.2)
    assert [r["method"] for r in server.requests] == ["sub", "change_mode", "unsub"]


async def test_policy_close_stops_instead_of_replaying_refused_subscriptions() -> None:
    server = FakeFeedServer()
    server.close_on_accept = (1008, "subscription limit exceeded")
    async with (
        server.running(),
        UpstoxFeedClient(lambda: TOKEN, config(server), clock=CLOCK) as feed,
    ):
        it = aiter(feed)
        with pytest.raises(FeedSubscriptionLimitError, match="subscription limit exceeded"):
            while True:
                await next_item(it)
        await asyncio.sleep(0.3)
    assert server.connections == 1


async def test_backoff_grows_while_connections_keep_dying() -> None:
    server = FakeFeedServer()
    server.close_on_accept = (1011, "going away")
    async with server.running():
        cfg = config(server, reconnect_base_seconds=0.05, reconnect_max_seconds=0.4)
        async with UpstoxFeedClient(lambda: TOKEN, cfg, clock=CLOCK):
            await asyncio.sleep(1.0)
    # Without growth (a reset after every handshake) this would be ~20 connections.
    assert 2 <= server.connections <= 10
