"""Portfolio stream (order and position updates) server side: JSON text frames.

``PortfolioHub.handle`` keeps an accepted socket open with the ``update_types`` it asked
for (default ``order``); :meth:`PortfolioHub.publish` is called by the order engine with
each order update (Upstox's portfolio-feed shape) and, after each fill, a ``position``
update; a socket gets only the ``update_type`` values it subscribed to.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Sub:
    ws: WebSocket
    user_id: str
    types: frozenset[str] = frozenset({"order"})
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(1024))
    dropped: int = 0


class PortfolioHub:
    """Open portfolio-stream sockets; fan-out of order updates per user."""

    def __init__(self) -> None:
        self._subs: set[_Sub] = set()

    def sockets(self) -> list[WebSocket]:
        """The open portfolio sockets (for the simulator's transport faults)."""
        return [s.ws for s in self._subs]

    def wants(self, user_id: str, update_type: str) -> bool:
        """Whether any open socket of ``user_id`` subscribed to ``update_type``."""
        return any(s.user_id == user_id and update_type in s.types for s in self._subs)

    def publish(self, user_id: str, update: dict[str, object]) -> None:
        text = json.dumps(update)
        kind = str(update.get("update_type", "order"))
        for sub in self._subs:
            if sub.user_id != user_id or kind not in sub.types:
                continue
            if sub.queue.full():
                sub.queue.get_nowait()
                sub.dropped += 1
            sub.queue.put_nowait(text)

    async def handle(
        self, ws: WebSocket, user_id: str, types: frozenset[str] = frozenset({"order"})
    ) -> None:
        sub = _Sub(ws, user_id, types)
        self._subs.add(sub)
        try:
            async with asyncio.TaskGroup() as tg:
                sender = tg.create_task(self._sender(sub), name="sim-portfolio-sender")
                try:
                    while True:
                        msg = await ws.receive()
                        if msg["type"] == "websocket.disconnect":
                            return
                except WebSocketDisconnect:
                    return
                finally:
                    sender.cancel()
        finally:
            self._subs.discard(sub)

    async def _sender(self, sub: _Sub) -> None:
        while True:
            text = await sub.queue.get()
            try:
                await sub.ws.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                log.debug("portfolio client went away: %r", exc)
                return
