"""A fake feed socket for ingestor tests: records what it is sent, yields what is queued."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from quant.core.events import FeedMode
from quant.ingestor.service import FeedEvent, Reconnected


class FakeFeedSocket:
    """Implements the ingestor's ``FeedSocket``: ``sent`` holds each (method, keys, mode),
    ``inbox`` feeds ``batches()``, ``reconnects`` holds each reconnect's reason."""

    def __init__(self, *, reconnect_ok: bool = True) -> None:
        self.sent: list[tuple[str, tuple[str, ...], FeedMode | None]] = []
        self.inbox: asyncio.Queue[Sequence[FeedEvent] | Reconnected] = asyncio.Queue()
        self.decode_errors = 0
        self.rejected: dict[str, int] = {}
        self.reconnects: list[str] = []
        self._reconnect_ok = reconnect_ok

    async def send(self, method: str, keys: Sequence[str], mode: FeedMode | None) -> None:
        self.sent.append((method, tuple(keys), mode))

    async def batches(self) -> AsyncIterator[Sequence[FeedEvent] | Reconnected]:
        while True:
            yield await self.inbox.get()

    async def reconnect(self, reason: str) -> bool:
        self.reconnects.append(reason)
        return self._reconnect_ok
