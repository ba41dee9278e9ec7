"""Async client of the Upstox V3 market-data feed, delivering domain ticks with backpressure.

Used by the ingestor (and tests/benchmarks against the simulator). It connects with the
``websockets`` library (TLS verified), either straight to ``/v3/feed/market-data-feed``
with the bearer token, following Upstox's 302/307 redirect, or through the single-use
URL from ``/authorize``. It sends binary JSON ``sub``/``unsub``/``change_mode`` frames,
keeps a :class:`~quant.upstox.subscriptions.SubscriptionBook` for its connection
(client-side limits, applied atomically) and replays it after every reconnect.
Reconnects use jittered exponential backoff; a socket that stays silent (no data frame
and no server ping) for ``silence_timeout_seconds`` is dropped and reconnected. A 403
handshake (too many connections, or not permitted) is retried with the same backoff. A
refused token (a 401 handshake, an auth error from ``/authorize``, or no usable token
from the source) stops the client with :class:`UpstoxAuthError`, unless it was given
``on_token_refused``: then it awaits that (which returns once a new token is at hand)
and reconnects, keeping its subscriptions. Each binary frame is decoded by
:func:`quant.upstox.wire.decode_frame` into ticks/greeks, checked against the bounds of
:class:`quant.upstox.checks.FeedChecks` (prices, quantities, the session window, the
subscribed keys): out-of-range ticks are dropped, counted by reason
(``stats.rejected``) and logged at most every 10 s; malformed frames are counted and
logged. Neither is ever fatal.

A caller that finds a socket alive but no use (the ingestor: data too old by exchange
time) drops it with :meth:`UpstoxFeedClient.reconnect`; it reconnects like after a lost
connection, subscriptions replayed.

Usage::

    async with UpstoxFeedClient(token_source, FeedConfig(api_base=...), clock=clock) as feed:
        await feed.subscribe(["NSE_EQ|INE002A01018"], FeedMode.FULL)
        async for item in feed:           # FeedFrame | FeedConnected, bounded queue
            ...
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import Opcode

from quant.core.clock import Clock, SystemClock
from quant.core.events import FeedMode, Tick
from quant.upstox.checks import FeedChecks, RejectionLog
from quant.upstox.config import FeedConfig, make_ssl_context
from quant.upstox.constants import FEED_PATH
from quant.upstox.errors import (
    FeedSubscriptionLimitError,
    UpstoxAuthError,
    UpstoxDecodeError,
    UpstoxError,
    parse_error_details,
)
from quant.upstox.subscriptions import Change, FeedLimits, SubscriptionBook
from quant.upstox.wire import FeedFrame, decode_frame, encode_request

log = logging.getLogger(__name__)

TokenSource = Callable[[], str]
Authorizer = Callable[[], Awaitable[str]]
# called with the token the refused attempt used (None: the source had none) and the
# error; returns once a new token is available (the ingestor's TokenWait)
TokenRefused = Callable[[str | None, UpstoxAuthError], Awaitable[None]]


class FeedConnected(NamedTuple):
    """Delivered in the stream after each successful (re)connect and resubscription."""

    connection: int
    ts_init: int
    resubscribed: int


FeedItem = FeedFrame | FeedConnected


class _Stop(NamedTuple):
    error: BaseException | None


class _SilentSocket(Exception):
    """No data and no server ping for too long: drop the socket and reconnect."""


@dataclass(slots=True)
class FeedStats:
    """Counters for metrics and tests."""

    connections: int = 0
    frames: int = 0
    ticks: int = 0
    decode_errors: int = 0
    silent_drops: int = 0
    forced_reconnects: int = 0
    handshake_failures: int = 0
    forbidden: int = 0  # 403s (handshake or /authorize), each retried
    token_refusals: int = 0  # refused tokens, each waited out with on_token_refused
    rejected: Counter[str] = field(default_factory=Counter)  # ticks dropped, by reason


class _WatchedConnection(ClientConnection):
    """A client connection that remembers when the server last sent anything alive."""

    last_alive: float = 0.0

    def process_event(self, event: Any) -> None:
        super().process_event(event)
        opcode = getattr(event, "opcode", None)
        if opcode is not None and opcode is not Opcode.PONG:
            self.last_alive = self.loop.time()


class UpstoxFeedClient:
    """The market-data feed as an async iterator of decoded frames."""

    def __init__(
        self,
        token: TokenSource,
        config: FeedConfig | None = None,
        *,
        clock: Clock | None = None,
        authorizer: Authorizer | None = None,
        rng: random.Random | None = None,
        on_token_refused: TokenRefused | None = None,
    ) -> None:
        self.config = config or FeedConfig()
        if self.config.use_authorize and authorizer is None:
            raise ValueError("FeedConfig.use_authorize needs an authorizer (rest.authorize_feed)")
        self._token = token
        self._clock = clock or SystemClock()
        self._authorizer = authorizer
        self._on_token_refused = on_token_refused
        self._used_token: str | None = None  # what the last attempt sent (never logged)
        self._rng = rng or random.Random()
        if not self.config.enforce_limits:
            limits = FeedLimits.unlimited()
        else:
            limits = FeedLimits.plus() if self.config.upstox_plus else FeedLimits()
        self.book = SubscriptionBook(limits, connections=1)
        self.stats = FeedStats()
        self.checks = FeedChecks(self.config.tick_limits)
        self._rejections = RejectionLog(name="feed", counts=self.stats.rejected)
        self._queue: asyncio.Queue[FeedItem | _Stop] = asyncio.Queue(self.config.queue_size)
        self._ws: _WatchedConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._connected_at: float | None = None
        self._drop_reason: str | None = None  # set by reconnect() until the socket is gone

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="upstox-feed")

    async def aclose(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
            if not self._task.cancelled() and self._task.exception() is not None:
                log.error("feed: loop ended with %r", self._task.exception())
            self._task = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def connected(self) -> bool:
        return self._ws is not None

    async def reconnect(self, reason: str) -> bool:
        """Drop the current socket now and connect afresh, replaying the subscriptions.

        For a socket that is alive but no use (e.g. its data lags by seconds): the
        connection loop sees a requested drop, not a failure, and reconnects after the
        usual backoff. Logged with ``reason`` and counted in ``stats.forced_reconnects``.
        Returns False (and does nothing) when there is no open socket to drop.
        """
        ws = self._ws
        if ws is None or self._closing or self._drop_reason is not None:
            return False
        self._drop_reason = reason
        self.stats.forced_reconnects += 1
        log.warning("feed: dropping the socket to reconnect: %s", reason)
        # a lagging peer may take long to complete a closing handshake: abort at once
        ws.transport.abort()
        return True

    def _take_drop_reason(self) -> str | None:
        """The reason of a drop requested by :meth:`reconnect` (cleared), if any."""
        reason, self._drop_reason = self._drop_reason, None
        return reason

    # -- subscriptions ------------------------------------------------------------------

    async def subscribe(self, keys: Iterable[str], mode: FeedMode = FeedMode.LTPC) -> None:
        """Subscribe (or move) ``keys`` in ``mode``, all or none.

        Checked against Upstox's limits first: raises :class:`FeedSubscriptionLimitError`
        (or ``ValueError`` for a malformed key) and sends nothing if any key is refused.
        """
        wanted = list(dict.fromkeys(keys))
        self._accept(self.book.subscribe(wanted, mode))
        await self._send("sub", wanted, mode)

    async def change_mode(self, keys: Iterable[str], mode: FeedMode) -> None:
        """Move subscribed ``keys`` to ``mode``, all or none (``ValueError`` for others)."""
        wanted = list(dict.fromkeys(keys))
        self._accept(self.book.change_mode(wanted, mode))
        await self._send("change_mode", wanted, mode)

    async def unsubscribe(self, keys: Iterable[str]) -> None:
        change = self.book.unsubscribe(keys)
        await self._send("unsub", change.unsubscribe.get(0, []), None)

    def _accept(self, change: Change) -> None:
        """Keep ``change`` if the book refused nothing; else undo it and raise."""
        if not change.refused:
            return
        self.book.revert(change)
        invalid = [r for r in change.refused if r.kind != "limit"]
        first = (invalid or change.refused)[0]
        message = (
            f"subscription refused: {len(change.refused)} key(s), e.g. {first.instrument_key}: "
            f"{first.reason}"
        )
        if invalid:
            raise ValueError(message)
        raise FeedSubscriptionLimitError(message)

    async def _send(self, method: str, keys: list[str], mode: FeedMode | None) -> None:
        ws = self._ws
        if not keys or ws is None:
            return  # not connected: the book is replayed on connect
        try:
            await ws.send(encode_request(method, keys, mode))
        except ConnectionClosed:
            log.info("feed: %s for %d keys deferred to the next connection", method, len(keys))

    # -- consumption --------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[FeedItem]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FeedItem]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _Stop):
                self._queue.put_nowait(item)  # later iterators see the same end
                if item.error is not None:
                    raise item.error
                return
            yield item

    async def ticks(self) -> AsyncIterator[Tick]:
        """Only the ticks, flattened across frames."""
        async for item in self:
            if isinstance(item, FeedFrame):
                for tick in item.ticks:
                    yield tick

    # -- connection loop ----------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        cap = min(
            self.config.reconnect_max_seconds, self.config.reconnect_base_seconds * 2**attempt
        )
        return self._rng.uniform(cap / 2, cap)

    async def _endpoint(self) -> tuple[str, dict[str, str] | None]:
        self._used_token = None
        token = self._token()  # raises UpstoxAuthError when the source has no usable token
        self._used_token = token
        if self.config.use_authorize and self._authorizer is not None:
            return await self._authorizer(), None
        base = self.config.api_base.rstrip("/")
        url = "wss://" + base.removeprefix("https://") if base.startswith("https://") else base
        url = "ws://" + url.removeprefix("http://") if url.startswith("http://") else url
        return url + FEED_PATH, {"Authorization": f"Bearer {token}"}

    def _fatal(self, e: BaseException) -> UpstoxError | None:
        """The one place deciding retry vs stop: a fatal error to end with, or None to retry."""
        if isinstance(e, UpstoxAuthError):
            if e.token_refused:
                return e
            self.stats.forbidden += 1  # a 403 from /authorize: as for the handshake below
            log.warning("feed: %s; retrying with backoff", e)
            return None
        if isinstance(e, InvalidStatus):
            self.stats.handshake_failures += 1
            status = e.response.status_code
            if status == 401:
                fatal = UpstoxAuthError(
                    "feed handshake refused with HTTP 401: the access token is invalid, "
                    "expired or revoked",
                    status=status,
                    details=parse_error_details(bytes(e.response.body or b"")),
                )
                fatal.__cause__ = e
                return fatal
            if status == 403:
                # Upstox's answer to too many connections (or a plan without the feed):
                # connections freed server-side make a later attempt succeed
                self.stats.forbidden += 1
                details = parse_error_details(bytes(e.response.body or b""))
                log.warning(
                    "feed: handshake refused with HTTP 403 (%s): too many connections or not "
                    "permitted; retrying with backoff (%d so far)",
                    "; ".join(f"{d.code}: {d.message}" for d in details) or "no details",
                    self.stats.forbidden,
                )
                return None
            log.warning("feed: handshake failed with HTTP %d", status)
            return None
        if isinstance(e, ConnectionClosed) and e.rcvd is not None and e.rcvd.code == 1008:
            # Policy violation: the server refused our subscriptions (limits); replaying
            # the same set would only be refused again.
            fatal_limit = FeedSubscriptionLimitError(
                f"feed closed by the server for policy violation: {e.rcvd.reason or 'no reason'}"
            )
            fatal_limit.__cause__ = e
            return fatal_limit
        if isinstance(e, _SilentSocket):
            self.stats.silent_drops += 1
            log.warning("feed: %s; reconnecting", e)
            return None
        if isinstance(e, UpstoxError):  # e.g. /authorize failed
            if not e.retryable:
                return e
            log.warning("feed: %s", e)
            return None
        log.warning("feed: connection lost: %s: %s", type(e).__name__, e)
        return None

    async def _run(self) -> None:
        attempt = 0
        error: BaseException | None = None
        loop = asyncio.get_running_loop()
        try:
            while not self._closing:
                self._connected_at = None
                try:
                    await self._connect_once()
                except (
                    UpstoxError, InvalidHandshake, OSError, TimeoutError, ConnectionClosed,
                    _SilentSocket,
                ) as e:  # fmt: skip
                    error = self._fatal(e)
                    if isinstance(error, UpstoxAuthError) and self._on_token_refused is not None:
                        refused, error = error, None
                        self.stats.token_refusals += 1
                        await self._on_token_refused(self._used_token, refused)
                        attempt = 0  # a new token: connect at once
                        continue
                    if error is not None:
                        return
                if self._closing:
                    return
                lived = loop.time() - self._connected_at if self._connected_at else 0.0
                if lived >= self.config.stable_after_seconds:
                    attempt = 0  # the last connection was healthy: start backing off afresh
                delay = self._backoff(attempt)
                attempt += 1
                log.info("feed: reconnecting in %.2fs (attempt %d)", delay, attempt)
                await asyncio.sleep(delay)
        except Exception as e:
            error = e
            raise
        finally:
            if error is not None:
                log.error("feed: stopped: %s", error)
            self._put_stop(_Stop(error))

    def _put_stop(self, stop: _Stop) -> None:
        """End the stream without blocking: make room by dropping the oldest item if full."""
        if self._queue.full():
            self._queue.get_nowait()
            log.warning("feed: queue full at stop; dropped the oldest undelivered item")
        self._queue.put_nowait(stop)

    async def _connect_once(self) -> None:
        url, headers = await self._endpoint()
        cfg = self.config
        ssl = make_ssl_context(cfg.ca_file) if url.startswith("wss://") else None
        async with connect(
            url,
            additional_headers=headers,
            ssl=ssl,
            open_timeout=cfg.open_timeout_seconds,
            ping_interval=cfg.ping_interval_seconds,
            ping_timeout=cfg.silence_timeout_seconds,
            close_timeout=2.0,
            max_size=2**24,
            create_connection=_WatchedConnection,
        ) as ws:
            assert isinstance(ws, _WatchedConnection)
            ws.last_alive = ws.loop.time()
            self._connected_at = ws.last_alive
            self._ws = ws
            try:
                self.stats.connections += 1
                replayed = 0
                for mode, keys in self.book.by_mode().items():
                    await ws.send(encode_request("sub", keys, mode))
                    replayed += len(keys)
                log.info(
                    "feed: connected (#%d), resubscribed %d keys", self.stats.connections, replayed
                )
                await self._queue.put(
                    FeedConnected(self.stats.connections, self._clock.now_ns(), replayed)
                )
                await self._pump(ws)
            finally:
                self._ws = None
                self._drop_reason = None  # a drop requested on this socket is done

    async def _pump(self, ws: _WatchedConnection) -> None:
        silence = self.config.silence_timeout_seconds
        loop = ws.loop
        put = self._queue.put
        now_ns = self._clock.now_ns
        stats = self.stats
        bounds = self.checks.bounds
        known = self.book.keys()
        rejections = self._rejections
        while True:
            remaining = ws.last_alive + silence - loop.time()
            if remaining <= 0:
                # A silent peer will not complete a closing handshake either: abort now.
                ws.transport.abort()
                raise _SilentSocket(f"no data and no ping for {silence:.1f}s")
            try:
                async with asyncio.timeout(remaining):
                    message = await ws.recv()
            except TimeoutError:
                continue  # re-check last_alive: a ping may have arrived meanwhile
            except ConnectionClosed:
                reason = self._take_drop_reason()
                if reason is None:
                    raise
                log.info("feed: socket dropped on request (%s); reconnecting", reason)
                return
            if isinstance(message, str):
                stats.decode_errors += 1
                log.warning("feed: unexpected text frame (%d chars) ignored", len(message))
                continue
            ts_init = now_ns()
            try:
                frame = decode_frame(message, ts_init, bounds(ts_init, known))
            except UpstoxDecodeError as e:
                stats.decode_errors += 1
                log.warning("feed: %s (%d so far)", e, stats.decode_errors)
                continue
            stats.frames += 1
            stats.ticks += len(frame.ticks)
            if frame.rejected:
                rejections.add(frame.rejected, ts_init)
            await put(frame)
