"""The gateway's settings section (host, port, CORS origins); env ``QUANT_GATEWAY__*``."""

from __future__ import annotations

from pydantic import Field

from quant.core.freshness import DEFAULT_STALE_AFTER_S
from quant.runtime.settings import Section


class GatewaySettings(Section):
    host: str = "127.0.0.1"
    port: int = 8080
    title: str = "quant-platform"
    # a quote older than this by exchange time says "stale": true
    stale_after_s: float = Field(default=DEFAULT_STALE_AFTER_S, gt=0)
