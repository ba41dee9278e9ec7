"""``/api/v1/stream``: the WebSocket stream API (messages in ``docs/api.md``).

A client connects, gets a ``welcome`` (channels, limits, heartbeat period, user), then
sends JSON operations: ``{"op": "subscribe"|"unsubscribe", "channel": C, "symbols":
[...]}`` (``symbols`` for ``quotes``, ``enriched`` and ``candles``: trading symbols or
instrument keys), ``{"op": "ping"}`` and ``{"op": "auth", "key": "qk_..."}``. The account
channels (``orders``, ``fills``, ``positions``, ``pnl``) need a caller
(:func:`quant.gateway.stream_auth.authenticate`): without one a subscribe is answered with
an ``auth_required`` error, never silently ignored; a refused key closes the connection.

Each connection runs a reader (the operations), a writer (its
:class:`~quant.gateway.stream_hub.Outbox`, each send bounded by ``stream_send_timeout_s``),
a heartbeat every ``stream_heartbeat_s`` and, for ``positions``/``pnl``, a task that asks
the execution service again after each fill (with the caller's key). A client whose
queue overflows, or that does not take a message in time, is sent a ``slow_consumer``
error and closed (code 1008); one past the gateway's connection limit gets
``too_many_connections`` (code 1013).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from quant.core.instruments import Instrument
from quant.gateway import stream_render as render
from quant.gateway.deps import GatewayPorts
from quant.gateway.ports import ExecutionUnavailable
from quant.gateway.routers.market import find_instrument
from quant.gateway.settings import GatewaySettings
from quant.gateway.stream_auth import Authenticated, authenticate
from quant.gateway.stream_hub import (
    ACCOUNT_CHANNELS,
    CHANNELS,
    SYMBOL_CHANNELS,
    StreamHub,
    Subscriber,
)
from quant.users.access import Denial
from quant.users.directory import Caller

log = logging.getLogger(__name__)

router = APIRouter()

PATH = "/api/v1/stream"
CLOSE_POLICY = 1008  # refused key, slow consumer
CLOSE_TRY_LATER = 1013  # too many connections
ACCOUNT_REFRESH_DELAY_S = 0.2  # a burst of fills is one ask of the execution service
_EXECUTION_PATHS = {"positions": "/v1/positions", "pnl": "/v1/pnl"}


def error(code: str, message: str, **extra: Any) -> str:
    return render.dumps({"type": "error", "code": code, "message": message, **extra})


class _Closing(Exception):
    """End the connection with ``code`` after sending ``text``."""

    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


class StreamSession:
    """One client connection: its operations, outbox writer, heartbeat and account asks."""

    def __init__(
        self, websocket: WebSocket, hub: StreamHub, sub: Subscriber, settings: GatewaySettings
    ) -> None:
        self.ws = websocket
        self.hub = hub
        self.sub = sub
        self.settings = settings
        self.ports: GatewayPorts = websocket.app.state.ports
        self.caller: Caller | None = None
        self.authorization = ""  # forwarded to the execution service (positions, pnl)

    def send(self, message: dict[str, Any]) -> None:
        self.sub.outbox.put(render.dumps(message))

    async def run(self) -> None:
        verdict = await authenticate(self.ws)
        if isinstance(verdict, Denial):
            await self._close(error("auth_failed", verdict.detail), CLOSE_POLICY)
            return
        if verdict is not None:
            self._authenticated(verdict)
        self.send(
            {
                "type": "welcome",
                "channels": list(CHANNELS),
                "account_channels": list(ACCOUNT_CHANNELS),
                "max_symbols": self.hub.limits.max_symbols,
                "heartbeat_s": self.settings.stream_heartbeat_s,
                "user": None if self.caller is None else self.caller.username,
            }
        )
        closing = await self._run_tasks()
        if closing is not None:
            await self._close(closing.text, closing.code)
        elif self.sub.outbox.dropped.is_set():
            log.info("stream client %d dropped: %s", self.sub.id, self.sub.outbox.drop_reason)
            self.hub.dropped["slow_consumer"] += 1
            await self._close(error("slow_consumer", self.sub.outbox.drop_reason), CLOSE_POLICY)

    async def _run_tasks(self) -> _Closing | None:
        """Run the reader, writer, heartbeat and account tasks until one ends (the client
        left, was dropped, or must be closed: returned)."""
        closing: list[_Closing] = []
        async with anyio.create_task_group() as tg:

            async def guard(task: Callable[[], Awaitable[object]]) -> None:
                try:
                    await task()
                except WebSocketDisconnect:
                    pass
                except _Closing as e:
                    closing.append(e)
                except Exception:
                    log.exception("stream connection %d failed", self.sub.id)
                finally:
                    tg.cancel_scope.cancel()

            for task in (
                self._read,
                self._write,
                self._heartbeat,
                self._account,
                self.sub.outbox.dropped.wait,
            ):
                tg.start_soon(guard, task)
        return closing[0] if closing else None

    async def _close(self, text: str, code: int) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.send_text(text), 1.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code), 1.0)

    def _authenticated(self, found: Authenticated) -> None:
        self.caller = found.caller
        self.authorization = found.authorization
        self.sub.authenticated = True

    # -- tasks -------------------------------------------------------------------------

    async def _write(self) -> None:
        timeout = self.settings.stream_send_timeout_s
        outbox = self.sub.outbox
        while True:
            for text in await outbox.next_batch():
                try:
                    async with asyncio.timeout(timeout):  # no task per send, unlike wait_for
                        await self.ws.send_text(text)
                except TimeoutError:
                    outbox.drop_reason = (
                        f"this client did not take a message within {timeout:g} s; "
                        "read faster or subscribe to less"
                    )
                    outbox.dropped.set()
                    return

    async def _heartbeat(self) -> None:
        every = self.settings.stream_heartbeat_s
        while True:
            await asyncio.sleep(every)
            now = self.hub.clock.now_ns()
            text = render.dumps({"type": "heartbeat", "ts": render.iso_utc(now), "ts_ns": now})
            self.sub.outbox.put_latest(("heartbeat", ""), text)

    async def _read(self) -> None:
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(frame.get("code", 1000))
            text = frame.get("text")
            if text is None:
                self.send({"type": "error", "code": "bad_request", "message": "send JSON text"})
                continue
            try:
                message = json.loads(text)
            except json.JSONDecodeError:
                self.send({"type": "error", "code": "bad_request", "message": "not JSON"})
                continue
            if not isinstance(message, dict):
                self.send({"type": "error", "code": "bad_request", "message": "send a JSON object"})
                continue
            await self._handle(message)

    async def _account(self) -> None:
        """Ask the execution service for positions / P&L on subscribe and after fills."""
        changed = self.sub.account_changed
        while True:
            await changed.wait()
            await asyncio.sleep(ACCOUNT_REFRESH_DELAY_S)
            changed.clear()
            for channel in ("positions", "pnl"):
                if channel in self.sub.channels:
                    await self._ask_execution(channel)

    async def _ask_execution(self, channel: str) -> None:
        execution = self.ports.execution
        if execution is None:
            self.send(
                {
                    "type": "error",
                    "code": "unavailable",
                    "channel": channel,
                    "message": "this gateway has no execution service to ask "
                    "(QUANT_GATEWAY__EXECUTION_URL)",
                }
            )
            return
        try:
            reply = await execution.request(
                "GET", _EXECUTION_PATHS[channel], authorization=self.authorization
            )
        except ExecutionUnavailable as e:
            self.send(
                {"type": "error", "code": "unavailable", "channel": channel, "message": str(e)}
            )
            return
        if reply.status != 200:
            detail = reply.body.get("detail") if isinstance(reply.body, dict) else None
            self.send(
                {
                    "type": "error",
                    "code": "unavailable",
                    "channel": channel,
                    "message": f"the execution service answered HTTP {reply.status}"
                    + (f": {detail}" if isinstance(detail, str) else ""),
                }
            )
            return
        data = {"positions": reply.body} if channel == "positions" else reply.body
        self.sub.outbox.put(render.envelope(channel, data))

    # -- operations --------------------------------------------------------------------

    async def _handle(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "ping":
            self.send({"type": "pong", "id": message.get("id")})
        elif op == "auth":
            await self._auth(message.get("key"))
        elif op in ("subscribe", "unsubscribe"):
            self._subscription(op, message)
        else:
            self.send(
                {
                    "type": "error",
                    "code": "bad_request",
                    "message": f"unknown op {op!r}: use subscribe, unsubscribe, ping or auth",
                }
            )

    async def _auth(self, key: Any) -> None:
        if not isinstance(key, str) or not key:
            self.send(
                {
                    "type": "error",
                    "code": "bad_request",
                    "op": "auth",
                    "message": 'send {"op": "auth", "key": "<API key>"}',
                }
            )
            return
        verdict = await authenticate(self.ws, key)
        if not isinstance(verdict, Authenticated):
            detail = "unknown API key" if verdict is None else verdict.detail
            raise _Closing(error("auth_failed", detail, op="auth"), CLOSE_POLICY)
        self._authenticated(verdict)
        caller = verdict.caller
        self.send({"type": "authenticated", "user": caller.username, "role": caller.role.label})

    def _subscription(self, op: str, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        if channel not in CHANNELS:
            self.send(
                {
                    "type": "error",
                    "code": "bad_request",
                    "op": op,
                    "message": f"unknown channel {channel!r}: one of {', '.join(CHANNELS)}",
                }
            )
            return
        assert isinstance(channel, str)
        if channel in SYMBOL_CHANNELS:
            self._symbols(op, channel, message.get("symbols"))
            return
        if op == "unsubscribe":
            self.hub.unsubscribe_channel(self.sub, channel)
            self.send({"type": "unsubscribed", "channel": channel})
            return
        if channel in ACCOUNT_CHANNELS and not self.sub.authenticated:
            self.send(
                {
                    "type": "error",
                    "code": "auth_required",
                    "op": op,
                    "channel": channel,
                    "message": f"the {channel} channel needs authentication: send "
                    "'Authorization: Bearer <key>' on the upgrade request, or "
                    '{"op": "auth", "key": "<key>"} first',
                }
            )
            return
        self.hub.subscribe_channel(self.sub, channel)
        self.send({"type": "subscribed", "channel": channel})
        if channel in _EXECUTION_PATHS:
            self.sub.account_changed.set()  # the current positions / P&L first

    def _symbols(self, op: str, channel: str, symbols: Any) -> None:
        if op == "unsubscribe" and symbols is None:
            self.hub.unsubscribe_symbols(self.sub, channel, None)
            self.send({"type": "unsubscribed", "channel": channel, "symbols": []})
            return
        if (
            not isinstance(symbols, list)
            or not symbols
            or not all(isinstance(s, str) and s for s in symbols)
        ):
            self.send(
                {
                    "type": "error",
                    "code": "bad_request",
                    "op": op,
                    "channel": channel,
                    "message": f'the {channel} channel needs "symbols": a list of trading '
                    "symbols or instrument keys",
                }
            )
            return
        found, unknown = self._resolve(symbols)
        if unknown:
            self.send(
                {
                    "type": "error",
                    "code": "unknown_symbol",
                    "op": op,
                    "channel": channel,
                    "symbols": unknown,
                    "message": f"unknown symbols (nothing {op}d): {', '.join(unknown[:20])}",
                }
            )
            return
        keys = [i.instrument_key for i in found]
        if op == "unsubscribe":
            gone = set(self.hub.unsubscribe_symbols(self.sub, channel, keys))
            self.send(
                {
                    "type": "unsubscribed",
                    "channel": channel,
                    "symbols": [i.trading_symbol for i in found if i.instrument_key in gone],
                }
            )
            return
        try:
            new = set(self.hub.subscribe_symbols(self.sub, channel, keys))
        except ValueError as e:
            self.send(
                {"type": "error", "code": "limit", "op": op, "channel": channel, "message": str(e)}
            )
            return
        self.send(
            {
                "type": "subscribed",
                "channel": channel,
                "symbols": [i.trading_symbol for i in found],
                "instrument_keys": keys,
            }
        )
        if channel in ("quotes", "enriched"):  # the current state first
            for key in new:
                text = (
                    self.hub.quote_message(key)
                    if channel == "quotes"
                    else self.hub.enriched_message(key)
                )
                if text is not None:
                    self.sub.outbox.put_latest((channel, key), text)

    def _resolve(self, symbols: list[str]) -> tuple[list[Instrument], list[str]]:
        found: list[Instrument] = []
        unknown: list[str] = []
        for symbol in symbols:
            try:
                inst = find_instrument(self.hub.instruments, symbol)
            except ValueError:
                inst = None
            if inst is None:
                unknown.append(symbol)
            else:
                found.append(inst)
        return found, unknown


@router.websocket(PATH)
async def stream(websocket: WebSocket) -> None:
    hub: StreamHub = websocket.app.state.stream
    settings: GatewaySettings = websocket.app.state.settings
    await websocket.accept()
    sub = hub.connect()
    if sub is None:
        with contextlib.suppress(Exception):
            await websocket.send_text(
                error(
                    "too_many_connections",
                    f"this gateway already serves {hub.limits.max_connections} stream "
                    "clients; try again later",
                )
            )
            await websocket.close(CLOSE_TRY_LATER)
        return
    try:
        await StreamSession(websocket, hub, sub, settings).run()
    finally:
        hub.disconnect(sub)
