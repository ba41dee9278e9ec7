"""Websocket handshake routes: the 302/307 redirect, ``/authorize``, the authorized feeds.

``/v3/feed/market-data-feed`` (websocket or plain GET) checks the bearer token and answers
a real HTTP redirect before any upgrade, to a single-use authorized URL; the authorized
URL is also handed out by ``/v3/feed/market-data-feed/authorize``. The portfolio stream
follows the same pattern. The refusal fault (:meth:`SimServer.refuse_feeds`) answers the
market feed's handshake or its ``/authorize`` call with the chosen status, and at most
``SimConfig.max_connections`` market feeds per user are open at once (403 beyond).
Mounted by :func:`quant.sim.app.create_app`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from quant.sim.errors import SimApiError, envelope
from quant.sim.state import SimState
from quant.sim.web import authed, ok, sim_state

MARKET_PATH = "/market-data-feeder/v3/upstox-developer-api/feeds"
PORTFOLIO_PATH = "/upstox-developer-api/order-updates/feed"


def _authorized_url(conn: HTTPConnection, user_id: str, kind: str) -> str:
    state: SimState = sim_state(conn)
    code = state.tokens.issue_feed_code(user_id, kind)
    secure = conn.url.scheme in ("https", "wss")
    host = conn.headers.get("host") or f"{state.config.host}:{state.config.port}"
    path = MARKET_PATH if kind == "market" else PORTFOLIO_PATH
    query = {"requestId": code[:8], "code": code}
    if kind == "portfolio":
        query["update_types"] = conn.query_params.get("update_types", "order")
    return f"{'wss' if secure else 'ws'}://{host}{path}?{urlencode(query)}"


def _refusal(state: SimState) -> int | None:
    faults = state.faults
    if faults.refuse_feed_status is not None and faults.refuse_feed_count != 0:
        faults.refuse_feed_count -= 1
        return faults.refuse_feed_status
    return None


def _error_response(exc: SimApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


async def _redirect(conn: HTTPConnection, kind: str) -> Response:
    state = sim_state(conn)
    try:
        session = authed(conn)
    except SimApiError as exc:
        return _error_response(exc)
    refused = _refusal(state)
    if refused is not None:
        return JSONResponse(envelope("UDAPI100500", "Forbidden"), status_code=refused)
    url = _authorized_url(conn, session.user_id, kind)
    return Response(status_code=state.config.redirect_status, headers={"location": url})


async def market_redirect_ws(ws: WebSocket) -> None:
    await ws.send_denial_response(await _redirect(ws, "market"))


async def market_redirect_http(request: Request) -> Response:
    return await _redirect(request, "market")


async def portfolio_redirect_ws(ws: WebSocket) -> None:
    await ws.send_denial_response(await _redirect(ws, "portfolio"))


async def portfolio_redirect_http(request: Request) -> Response:
    return await _redirect(request, "portfolio")


async def market_authorize(request: Request) -> JSONResponse:
    session = authed(request)
    refused = _refusal(sim_state(request))
    if refused is not None:
        return JSONResponse(envelope("UDAPI100500", "Forbidden"), status_code=refused)
    url = _authorized_url(request, session.user_id, "market")
    return ok({"authorized_redirect_uri": url, "authorizedRedirectUri": url})


async def portfolio_authorize(request: Request) -> JSONResponse:
    session = authed(request)
    url = _authorized_url(request, session.user_id, "portfolio")
    return ok({"authorized_redirect_uri": url, "authorizedRedirectUri": url})


async def _accept(ws: WebSocket, kind: str) -> str | None:
    """Redeem the URL's code; deny the upgrade (401/403) when it is not usable."""
    state = sim_state(ws)
    user = state.tokens.redeem_feed_code(ws.query_params.get("code", ""), kind)
    if user is None:
        body = envelope("UDAPI100050", "Invalid token used to access API")
        await ws.send_denial_response(JSONResponse(body, status_code=401))
        return None
    refused = _refusal(state)
    hub = ws.app.state.feed_hub
    if (
        refused is None
        and kind == "market"
        and hub.connections_of(user) >= state.config.max_connections
    ):
        refused = 403
    if refused is not None:
        await ws.send_denial_response(
            JSONResponse(envelope("UDAPI100500", "Forbidden"), status_code=refused)
        )
        return None
    await ws.accept()
    return user


async def market_feed(ws: WebSocket) -> None:
    user = await _accept(ws, "market")
    if user is not None:
        await ws.app.state.feed_hub.handle(ws, user)


async def portfolio_feed(ws: WebSocket) -> None:
    user = await _accept(ws, "portfolio")
    if user is not None:
        raw = ws.query_params.get("update_types") or "order"
        types = frozenset(t.strip() for t in raw.split(",") if t.strip())
        await ws.app.state.portfolio_hub.handle(ws, user, types)


ROUTES = [
    Route("/v3/feed/market-data-feed/authorize", market_authorize),
    Route("/v3/feed/market-data-feed", market_redirect_http),
    WebSocketRoute("/v3/feed/market-data-feed", market_redirect_ws),
    WebSocketRoute(MARKET_PATH, market_feed),
    Route("/v2/feed/portfolio-stream-feed/authorize", portfolio_authorize),
    Route("/v2/feed/portfolio-stream-feed", portfolio_redirect_http),
    WebSocketRoute("/v2/feed/portfolio-stream-feed", portfolio_redirect_ws),
    WebSocketRoute(PORTFOLIO_PATH, portfolio_feed),
]
