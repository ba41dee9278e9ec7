"""Login routes: OAuth dialog (auto-approves), token exchange, token request, logout, profile.

The dialog page approves at once and redirects to ``redirect_uri`` with a single-use code;
``/v2/login/authorization/token`` exchanges it (the code is burnt even when the exchange
fails); ``/v3/login/auth/token/request/{client_id}`` mints a token and POSTs it to the
configured notifier webhook. Mounted by :func:`quant.sim.app.create_app`.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlencode

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from quant.core.clock import NS_PER_MS
from quant.sim.auth import next_expiry_ns
from quant.sim.errors import BAD_REDIRECT, INVALID_CREDENTIALS, SimApiError
from quant.sim.state import SimState
from quant.sim.web import authed, ok, sim_state

log = logging.getLogger(__name__)


async def dialog(request: Request) -> Response:
    state = sim_state(request)
    cfg = state.config
    q = request.query_params
    if (
        q.get("client_id") != cfg.client_id
        or q.get("redirect_uri") != cfg.redirect_uri
        or q.get("response_type") != "code"
    ):
        raise SimApiError(
            400,
            BAD_REDIRECT,
            "Check your 'client_id' and 'redirect_uri'; one or both are incorrect.",
        )
    params = {"code": state.tokens.issue_code()}
    if q.get("state"):
        params["state"] = q["state"]
    sep = "&" if "?" in cfg.redirect_uri else "?"
    return RedirectResponse(cfg.redirect_uri + sep + urlencode(params), status_code=302)


def _profile(state: SimState, token: str) -> dict[str, object]:
    cfg = state.config
    return {
        "email": cfg.email,
        "exchanges": ["NSE", "NFO", "BSE", "BFO", "CDS", "BCD", "MCX"],
        "products": ["D", "I", "CO", "MTF"],
        "broker": "UPSTOX",
        "user_id": cfg.user_id,
        "user_name": cfg.user_name,
        "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
        "user_type": "individual",
        "poa": False,
        "ddpi": False,
        "is_active": True,
        "access_token": token,
        "extended_token": None,
    }


async def token(request: Request) -> JSONResponse:
    state = sim_state(request)
    cfg = state.config
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    code = form.get("code", "")
    user = state.tokens.redeem_code(code)
    if (
        user is None
        or form.get("client_id") != cfg.client_id
        or form.get("client_secret") != cfg.client_secret
        or form.get("redirect_uri") != cfg.redirect_uri
        or form.get("grant_type") != "authorization_code"
    ):
        raise SimApiError(401, INVALID_CREDENTIALS, "Invalid Credentials")
    body = _profile(state, state.tokens.mint(user))
    body["extended_token"] = state.tokens.mint(user, extended=True)
    return JSONResponse(body)


async def _notify(url: str, payload: dict[str, object]) -> None:
    async with httpx.AsyncClient(timeout=5.0) as client:
        try:
            resp = await client.post(url, json=payload)
            log.info("notifier webhook answered %s", resp.status_code)
        except httpx.HTTPError as exc:
            log.warning("notifier webhook failed: %r", exc)


async def token_request(request: Request) -> JSONResponse:
    state = sim_state(request)
    cfg = state.config
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise SimApiError(400, "UDAPI100036", "Invalid input") from exc
    if (
        request.path_params["client_id"] != cfg.client_id
        or body.get("client_secret") != cfg.client_secret
    ):
        raise SimApiError(401, INVALID_CREDENTIALS, "Invalid Credentials")
    now = state.clock.now_ns()
    expiry_ms = next_expiry_ns(now) // NS_PER_MS
    data = {"authorization_expiry": str(expiry_ms), "notifier_url": cfg.notifier_url or ""}
    task = None
    if cfg.notifier_url:
        access = state.tokens.mint()
        payload: dict[str, object] = {
            "client_id": cfg.client_id,
            "user_id": cfg.user_id,
            "access_token": access,
            "token_type": "Bearer",
            "expires_at": str(state.tokens.expiry_ms(access)),
            "issued_at": str(now // NS_PER_MS),
            "message_type": "access_token",
        }
        task = BackgroundTask(_notify, cfg.notifier_url, payload)
    return JSONResponse({"status": "success", "data": data}, background=task)


async def logout(request: Request) -> JSONResponse:
    authed(request)
    header = request.headers.get("authorization", "")
    sim_state(request).tokens.revoke(header[7:].strip())
    return ok(True)


async def profile(request: Request) -> JSONResponse:
    authed(request)
    state = sim_state(request)
    data = _profile(state, "")
    for k in ("access_token", "extended_token", "ddpi"):
        data.pop(k)
    return ok(data)


ROUTES = [
    Route("/v2/login/authorization/dialog", dialog),
    Route("/v2/login/authorization/token", token, methods=["POST"]),
    Route("/v3/login/auth/token/request/{client_id}", token_request, methods=["POST"]),
    Route("/v2/logout", logout, methods=["DELETE"]),
    Route("/v2/user/profile", profile),
]
