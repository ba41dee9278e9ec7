"""A one-shot local HTTP receiver for the OAuth redirect and the token-request webhook.

Used by :mod:`quant.auth.service`: it listens on a local port, waits for the first
request to a given path (the browser's redirect with ``?code=...``, or Upstox's webhook
POST), answers it with a short text, and hands the request to the caller. Deliberately
tiny (asyncio streams, HTTP/1.1, ``Connection: close``); it never logs query strings or
bodies, which carry codes and tokens.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: bytes


class OneShotReceiver:
    """Serve until one ``method`` request for ``path`` arrives; others get 404."""

    def __init__(self, host: str, port: int, path: str, method: str = "GET") -> None:
        self.host = host
        self.port = port
        self.path = path
        self.method = method
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[ReceivedRequest] | None = None

    async def start(self) -> None:
        self._result = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait(self, wait_seconds: float) -> ReceivedRequest:
        if self._result is None:
            raise RuntimeError("receiver not started")
        async with asyncio.timeout(wait_seconds):
            return await asyncio.shield(self._result)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            length = min(int(headers.get("content-length", "0") or 0), MAX_BODY)
            body = await reader.readexactly(length) if length else b""
            url = urlsplit(target)
            if method != self.method or url.path != self.path:
                await self._reply(writer, 404, "not found")
                return
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            await self._reply(writer, 200, "quant-platform: received, you can close this window")
            if self._result is not None and not self._result.done():
                self._result.set_result(ReceivedRequest(method, url.path, query, body))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            log.warning("auth receiver: ignored a malformed request")
            await self._reply(writer, 400, "bad request")
        finally:
            writer.close()

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, status: int, text: str) -> None:
        body = text.encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        try:
            await writer.drain()
        except ConnectionError:
            log.debug("auth receiver: client went away before the reply")
