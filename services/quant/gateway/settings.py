"""The gateway's settings section (host, port, source, API-key cache, execution service,
browser sessions and login lockout, the stream API's limits); ``QUANT_GATEWAY__*``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from quant.core.freshness import DEFAULT_STALE_AFTER_S
from quant.runtime.settings import Section

MarketSource = Literal["sim", "upstox"]


@dataclass(frozen=True)
class StreamLimits:
    """The stream API's limits (:mod:`quant.gateway.stream_hub`)."""

    max_connections: int = 1000
    max_symbols: int = 200  # per channel per connection
    queue_size: int = 1000  # ordered (non-conflated) messages waiting per connection


class LoginSettings(Section):
    """Browser sessions and the login lockout (``QUANT_GATEWAY__LOGIN__*``)."""

    # a session ends after this long without a request, and after max_s whatever happens
    idle_s: float = Field(default=2 * 3600.0, gt=0)
    max_s: float = Field(default=12 * 3600.0, gt=0)
    # at most this many sessions in one gateway process (the oldest is dropped past it)
    max_sessions: int = Field(default=10_000, ge=1)
    # always mark the session cookie Secure (it is anyway when the request came over TLS);
    # set it when a TLS proxy in front of the gateway does not say so in X-Forwarded-Proto
    secure_cookie: bool = False
    # this many failed logins within window_s lock out the user name, and the client
    # address, until the oldest failure leaves the window
    max_failures: int = Field(default=5, ge=1)
    window_s: float = Field(default=900.0, gt=0)


class GatewaySettings(Section):
    host: str = "127.0.0.1"
    port: int = 8080
    title: str = "quant-platform"
    # where the market data comes from, said in every quote; ``quant up`` sets it from
    # ``--source``, a cluster gateway reads the real Upstox feed
    source: MarketSource = "upstox"
    # a quote older than this by exchange time says "stale": true
    stale_after_s: float = Field(default=DEFAULT_STALE_AFTER_S, gt=0)
    # how long a verified API key is trusted without a new argon2id check (0 = never);
    # a disabled user or a changed role still counts from the next request
    key_cache_s: float = Field(default=60.0, ge=0)
    # the execution service's own API (``quant execution``, or the one inside ``quant up``)
    # that the trading endpoints forward to, with the caller's API key; empty = none (503)
    execution_url: str = "http://127.0.0.1:8081"
    # how long a forwarded request may take (a POST /orders waits for its rate-limit slot
    # in queue mode); connecting gives up after at most 2 s: the service is down
    execution_timeout_s: float = Field(default=30.0, gt=0)
    # the stream API (/api/v1/stream): clients per gateway, symbols per channel per client,
    # ordered messages waiting per client before it is dropped as too slow, the heartbeat
    # period, and how long one send may wait on a client before it is dropped
    stream_max_connections: int = Field(default=1000, ge=1)
    stream_max_symbols: int = Field(default=200, ge=1)
    stream_queue_size: int = Field(default=1000, ge=1)
    stream_heartbeat_s: float = Field(default=15.0, gt=0)
    stream_send_timeout_s: float = Field(default=10.0, gt=0)

    def stream_limits(self) -> StreamLimits:
        return StreamLimits(
            self.stream_max_connections, self.stream_max_symbols, self.stream_queue_size
        )

    # browser sessions (the login page) and the lockout after failed logins
    login: LoginSettings = LoginSettings()
