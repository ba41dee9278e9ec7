"""A small websockets server imitating Upstox's feed handshake for the feed-client tests.

``/v3/feed/market-data-feed`` checks the bearer token (401 if wrong) and answers with a
302 or 307 redirect to ``/feeds?code=...``; the feed endpoint records the subscription
requests it receives and sends whatever frames the test queues. ``silent`` makes the
next connection send nothing (and no pings); ``drop()`` closes the current socket.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

TOKEN = "good-token"


class FakeFeedServer:
    def __init__(self, redirect_status: int = 302, ping_interval: float | None = None) -> None:
        self.redirect_status = redirect_status
        self.ping_interval = ping_interval
        self.handshakes = 0
        self.connections = 0
        self.text_frames = 0
        self.requests: list[dict[str, object]] = []
        self.outbox: asyncio.Queue[bytes | str] = asyncio.Queue()
        self.silent = False
        self.reject_status: int | None = None
        self.close_on_accept: tuple[int, str] | None = None
        self._current: ServerConnection | None = None
        self.server: Server | None = None
        self.subscribed = asyncio.Event()

    @property
    def base(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/v3/feed/market-data-feed"):
            self.handshakes += 1
            if self.reject_status is not None:
                return conn.respond(HTTPStatus(self.reject_status), "refused\n")
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return conn.respond(HTTPStatus.UNAUTHORIZED, "Invalid token used to access API\n")
            headers = Headers(
                {"Location": f"/feeds?code=c{self.handshakes}", "Content-Length": "0"}
            )
            return Response(self.redirect_status, "Redirect", headers, b"")
        if request.path.startswith("/feeds?code="):
            return None
        return conn.respond(HTTPStatus.NOT_FOUND, "no such path\n")

    async def _handler(self, conn: ServerConnection) -> None:
        self.connections += 1
        self._current = conn
        silent = self.silent
        if self.close_on_accept is not None:
            await conn.close(*self.close_on_accept)
            return

        async def reader() -> None:
            async for message in conn:
                if isinstance(message, str):
                    self.text_frames += 1  # Upstox wants binary frames
                self.requests.append(json.loads(message))
                self.subscribed.set()

        async def writer() -> None:
            if silent:
                await asyncio.Event().wait()
            while True:
                await conn.send(await self.outbox.get())

        tasks = [asyncio.create_task(reader()), asyncio.create_task(writer())]
        try:
            # The reader ends when the socket closes; then stop the writer.
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)

    async def drop(self) -> None:
        assert self._current is not None
        self._current.transport.abort()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakeFeedServer]:
        async with serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            ping_interval=self.ping_interval,
        ) as server:
            self.server = server
            yield self
