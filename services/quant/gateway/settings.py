"""The gateway's settings section (host, port, source, API-key cache, execution service);
``QUANT_GATEWAY__*``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from quant.core.freshness import DEFAULT_STALE_AFTER_S
from quant.runtime.settings import Section

MarketSource = Literal["sim", "upstox"]


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
