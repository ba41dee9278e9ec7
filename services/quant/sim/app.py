"""``create_app(state)``: the simulator's Starlette application, every route on one port.

Wires the route modules, the Upstox error envelope for :class:`SimApiError`, a 404
envelope for unknown paths, and the feed/portfolio hubs on ``app.state``. Called by
:class:`quant.sim.server.SimServer` and by in-process tests.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from quant.sim import (
    routes_auth,
    routes_charges,
    routes_feed,
    routes_history,
    routes_market,
    routes_options,
    routes_orders,
    routes_portfolio,
)
from quant.sim.errors import NOT_FOUND, SimApiError, envelope
from quant.sim.feed import FeedHub
from quant.sim.orders import SimFill, SimOrder, update_json
from quant.sim.portfolio import PortfolioHub
from quant.sim.state import SimState


async def _sim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SimApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return JSONResponse(envelope(NOT_FOUND, "Resource not Found"), status_code=404)
    return JSONResponse(
        envelope("UDAPI10000", "This request is not supported by Upstox API"),
        status_code=exc.status_code,
    )


def create_app(state: SimState) -> Starlette:
    """The ASGI app serving ``state``."""
    routes = [
        *routes_auth.ROUTES,
        *routes_market.ROUTES,
        *routes_feed.ROUTES,
        *routes_orders.ROUTES,
        *routes_history.ROUTES,
        *routes_options.ROUTES,
        *routes_portfolio.ROUTES,
        *routes_charges.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={SimApiError: _sim_error, HTTPException: _http_error},
    )
    app.state.sim = state
    app.state.feed_hub = FeedHub(state)
    portfolio = PortfolioHub()
    app.state.portfolio_hub = portfolio
    state.engine.on_update = lambda order: portfolio.publish(order.user_id, update_json(order))

    def on_fill(order: SimOrder, _fill: SimFill) -> None:
        if portfolio.wants(order.user_id, "position"):
            portfolio.publish(order.user_id, routes_portfolio.position_update(state, order))

    state.engine.on_fill = on_fill
    return app
