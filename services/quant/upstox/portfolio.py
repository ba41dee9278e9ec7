"""Async client of the Upstox portfolio stream (order updates), UPSTOX.md §2.6.

Used by :class:`quant.upstox.broker.UpstoxBroker` (the execution service's live broker).
Each connection starts from a fresh single-use URL from ``/v2/feed/portfolio-stream-feed/
authorize`` (via the rate-limited REST client), connects with ``websockets`` (TLS verified,
keepalive pings: Upstox sends no application heartbeat) and turns each JSON text frame
into an :class:`~quant.upstox.models.OrderDetails`. A lost or refused connection is
retried forever with jittered exponential backoff (like the market feed client); each
(re)connection is announced with :class:`StreamConnected` so the consumer can fetch the
order book and miss nothing sent while it was away. A refused token ends the stream with
:class:`~quant.upstox.errors.UpstoxAuthError`. Malformed frames are counted
(``stats.malformed``), logged and skipped; they never end the stream.

Usage::

    stream = UpstoxPortfolioStream(rest, FeedConfig(api_base=...))
    async for item in stream.updates():   # StreamConnected | OrderDetails
        ...
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from quant.upstox.config import FeedConfig, make_ssl_context
from quant.upstox.errors import UpstoxAuthError, UpstoxDecodeError, UpstoxError
from quant.upstox.models import OrderDetails
from quant.upstox.ratelimit import Sleep
from quant.upstox.rest import UpstoxRestClient
from quant.upstox.rest_parsing import parse_order_update

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamConnected:
    """The stream (re)connected; updates sent while it was down were not received."""

    connection: int


@dataclass(slots=True)
class PortfolioStats:
    connections: int = 0
    updates: int = 0
    malformed: int = 0


class UpstoxPortfolioStream:
    """Order updates from the portfolio stream, reconnecting forever (see module doc)."""

    def __init__(
        self,
        rest: UpstoxRestClient,
        config: FeedConfig | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config or FeedConfig()
        self._rest = rest
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.stats = PortfolioStats()

    def _backoff(self, attempt: int) -> float:
        cfg = self.config
        cap = min(cfg.reconnect_max_seconds, cfg.reconnect_base_seconds * 2**attempt)
        return self._rng.uniform(cap / 2, cap)

    async def updates(self) -> AsyncIterator[StreamConnected | OrderDetails]:
        cfg = self.config
        attempt = 0
        while True:
            try:
                url = await self._rest.authorize_portfolio_feed("order")
                ssl = make_ssl_context(cfg.ca_file) if url.startswith("wss://") else None
                async with connect(
                    url,
                    ssl=ssl,
                    open_timeout=cfg.open_timeout_seconds,
                    ping_interval=cfg.ping_interval_seconds,
                    ping_timeout=cfg.silence_timeout_seconds,
                    close_timeout=2.0,
                ) as ws:
                    attempt = 0
                    self.stats.connections += 1
                    log.info("portfolio stream: connected (#%d)", self.stats.connections)
                    yield StreamConnected(self.stats.connections)
                    async for frame in ws:
                        try:
                            order = parse_order_update(frame)
                        except UpstoxDecodeError as e:
                            self.stats.malformed += 1
                            log.warning("portfolio stream: skipped a malformed frame: %s", e)
                            continue
                        if order is not None:
                            self.stats.updates += 1
                            yield order
                log.warning("portfolio stream: closed by the server; reconnecting")
            except UpstoxAuthError as e:
                if e.token_refused:
                    raise
                log.warning("portfolio stream: refused (%s); reconnecting", e)
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, UpstoxError) as e:
                log.warning("portfolio stream: %s: %s; reconnecting", type(e).__name__, e)
            delay = self._backoff(attempt)
            attempt += 1
            await self._sleep(delay)
