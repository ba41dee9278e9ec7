"""The gateway's settings section (host, port, CORS origins); env ``QUANT_GATEWAY__*``."""

from __future__ import annotations

from quant.runtime.settings import Section


class GatewaySettings(Section):
    host: str = "127.0.0.1"
    port: int = 8080
    title: str = "quant-platform"
