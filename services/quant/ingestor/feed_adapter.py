"""Binds the ingestor's :class:`~quant.ingestor.service.FeedSocket` port to the Upstox client.

One :class:`UpstoxFeedSocket` wraps one :class:`quant.upstox.feed.UpstoxFeedClient` (one
websocket, which reconnects and replays its subscriptions by itself). Frames become
batches of ``Tick``/``OptionGreeks``; every connect after the first becomes
``RECONNECTED``; a stale socket is dropped and reconnected with
:meth:`UpstoxFeedClient.reconnect`. Built by the ingestor's composition roots.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

from quant.core.events import FeedMode
from quant.ingestor.service import RECONNECTED, FeedEvent, Reconnected
from quant.upstox.feed import FeedConnected, UpstoxFeedClient


class UpstoxFeedSocket:
    """``FeedSocket`` over one ``UpstoxFeedClient`` (started and closed by the caller)."""

    def __init__(self, client: UpstoxFeedClient) -> None:
        self.client = client

    @property
    def decode_errors(self) -> int:
        return self.client.stats.decode_errors

    @property
    def rejected(self) -> Mapping[str, int]:
        return self.client.stats.rejected

    async def reconnect(self, reason: str) -> bool:
        return await self.client.reconnect(reason)

    async def send(self, method: str, keys: Sequence[str], mode: FeedMode | None) -> None:
        if method == "sub" and mode is not None:
            await self.client.subscribe(keys, mode)
        elif method == "change_mode" and mode is not None:
            await self.client.change_mode(keys, mode)
        elif method == "unsub":
            await self.client.unsubscribe(keys)
        else:
            raise ValueError(f"unknown feed request {method!r} (mode {mode})")

    async def batches(self) -> AsyncIterator[Sequence[FeedEvent] | Reconnected]:
        async for item in self.client:
            if isinstance(item, FeedConnected):
                if item.connection > 1:
                    yield RECONNECTED
                continue
            if item.ticks or item.greeks:
                batch: list[FeedEvent] = [*item.ticks, *item.greeks]
                yield batch
