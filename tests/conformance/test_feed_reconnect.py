"""``UpstoxFeedClient.reconnect``: a socket the caller finds stale is dropped on request
and replaced, subscriptions replayed, without being taken for a failure."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sim_fixtures import RELIANCE, feed_config, sim_fixture  # noqa: F401

from quant.core.clock import SystemClock
from quant.core.events import FeedMode
from quant.sim.server import SimServer
from quant.upstox.feed import FeedConnected, UpstoxFeedClient
from quant.upstox.wire import FeedFrame

pytestmark = pytest.mark.conformance


async def test_reconnect_on_request_replaces_the_socket_and_resubscribes(
    sim: SimServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = sim.mint_token()
    client = UpstoxFeedClient(lambda: token, feed_config(sim), clock=SystemClock())
    assert await client.reconnect("nothing to drop yet") is False
    async with client:
        await client.subscribe([RELIANCE], FeedMode.LTPC)
        it = aiter(client)
        async with asyncio.timeout(10):
            while not isinstance(await anext(it), FeedFrame):
                pass
            with caplog.at_level(logging.INFO, logger="quant.upstox.feed"):
                assert await client.reconnect("data 16 s old") is True
                assert await client.reconnect("again") is False  # one drop at a time
                while True:
                    item = await anext(it)
                    if isinstance(item, FeedConnected):
                        break
            assert (item.connection, item.resubscribed) == (2, 1)
            while True:  # the replayed subscription delivers on the new socket
                item = await anext(it)
                if isinstance(item, FeedFrame) and item.ticks:
                    break
            while True:  # the simulator saw the old socket go
                if len(sim.feed_hub.conns) == 1:
                    break
                await asyncio.sleep(0.02)
        assert client.stats.forced_reconnects == 1
        messages = [r.getMessage() for r in caplog.records]  # before our own close
    assert any("dropping the socket to reconnect: data 16 s old" in m for m in messages)
    assert not any("connection lost" in m for m in messages)  # requested, not a failure
