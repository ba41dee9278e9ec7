"""``create_app(settings, ports)``: the FastAPI application of the REST API.

One router per resource (market quotes and candles, scanner picks, instruments, account,
trading, health), the error shapes of
:mod:`quant.gateway.errors` and the offline ``/docs`` of :mod:`quant.gateway.docs`. The
composition root (``quant up``, or a standalone gateway process) builds the ports and
passes them in; nothing here reads the environment or opens connections. Endpoints that
need an API key (or a logged-in browser's session) use
:func:`quant.gateway.auth.require_role`; the login pages (``/login``, ``/logout``, ``/``)
are :mod:`quant.gateway.login`. Browser sessions live in ``ports.sessions``, or in this
app's memory when the ports bring none; they and the login lockout count time on
``ports.session_clock`` (the wall clock unless given). The WebSocket stream API
(:mod:`quant.gateway.routers.stream`) fans out through ``ports.stream`` (a
:class:`~quant.gateway.stream_hub.StreamHub`; one is made here when the ports bring none).
"""

from __future__ import annotations

from fastapi import FastAPI

from quant.core.clock import SystemClock
from quant.gateway import auth, docs, errors, login
from quant.gateway.deps import GatewayPorts
from quant.gateway.lockout import LoginLockout
from quant.gateway.login_metrics import login_metrics
from quant.gateway.routers import (
    account,
    candles,
    health,
    instruments,
    market,
    scanner,
    stream,
    trading,
)
from quant.gateway.sessions import MemorySessionStore
from quant.gateway.settings import GatewaySettings
from quant.gateway.stream_hub import StreamHub


def create_app(settings: GatewaySettings, ports: GatewayPorts) -> FastAPI:
    app = FastAPI(
        title=settings.title,
        version="1",
        description="REST API of quant-platform: quotes, greeks, candles, scanner picks, "
        "instruments; orders, trades, "
        "positions, P&L and the kill switch (API key: Authorization: Bearer <key>; or the "
        "session cookie of a browser logged in at /login, with X-CSRF-Token on changes).\n\n"
        "Live data: the WebSocket stream API at `/api/v1/stream` (not in this OpenAPI "
        "document: WebSockets are not part of OpenAPI). Send "
        '`{"op": "subscribe", "channel": "quotes", "symbols": ["RELIANCE"]}`; channels '
        "quotes, enriched, candles, scanner, and with an API key or a session orders, fills, "
        "positions and pnl. Messages and a Python client: docs/api.md.",
        docs_url=None,  # served from the package by docs.install, not from a CDN
        redoc_url=None,
    )
    app.state.ports = ports
    app.state.source = settings.source
    app.state.settings = settings
    if ports.stream is None:
        ports.stream = StreamHub(
            ports.market,
            ports.instruments,
            ports.clock,
            source=settings.source,
            stale_after_s=ports.stale_after_s,
            limits=settings.stream_limits(),
        )
    app.state.stream = ports.stream
    # used when the ports bring no counter (a registered one is made once per process)
    app.state.auth_failures = auth.failures_counter(None)
    app.state.login_metrics = login_metrics(None)
    config = settings.login
    app.state.login_settings = config
    clock = ports.session_clock or SystemClock()
    app.state.session_clock = clock
    app.state.sessions = ports.sessions or MemorySessionStore(
        clock, config.idle_s, config.max_s, config.max_sessions
    )
    app.state.lockout = LoginLockout(clock, config.max_failures, config.window_s)
    app.state.forward_keys = {}  # user name -> the API key forwarded for their sessions
    errors.install(app)
    docs.install(app)
    app.include_router(health.router)
    app.include_router(market.router)
    app.include_router(candles.router)
    app.include_router(scanner.router)
    app.include_router(instruments.router)
    app.include_router(account.router)
    app.include_router(trading.router)
    app.include_router(stream.router)
    app.include_router(login.router)
    return app
