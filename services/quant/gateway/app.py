"""``create_app(settings, ports)``: the FastAPI application of the REST API.

One router per resource (market, instruments, health). The composition root (``quant
up``, or a standalone gateway process) builds the ports and passes them in; nothing
here reads the environment or opens connections.
"""

from __future__ import annotations

from fastapi import FastAPI

from quant.gateway import errors
from quant.gateway.deps import GatewayPorts
from quant.gateway.routers import health, instruments, market
from quant.gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings, ports: GatewayPorts) -> FastAPI:
    app = FastAPI(
        title=settings.title,
        version="1",
        description="REST API of quant-platform: quotes, greeks, instruments.",
    )
    app.state.ports = ports
    app.state.source = settings.source
    errors.install(app)
    app.include_router(health.router)
    app.include_router(market.router)
    app.include_router(instruments.router)
    return app
