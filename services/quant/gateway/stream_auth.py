"""Who a stream client is: :func:`authenticate`, the stream API's one authentication check.

A client proves who it is with an API key, either as ``Authorization: Bearer <key>`` on
the WebSocket upgrade request or in a first ``{"op": "auth", "key": "..."}`` message; the
decision is :func:`quant.users.access.authorize`'s (the REST API's rules), at the role
:data:`ACCOUNT_ROLE` (a viewer may watch the account channels). Another credential (a
session cookie of the dashboard's login) plugs in here: :func:`authenticate` receives the
WebSocket (headers and cookies) as well as the key of an ``auth`` message. Refusals are
counted in ``gateway_auth_failures_total{reason}``; keys are never logged or echoed.
"""

from __future__ import annotations

import logging

import anyio
from fastapi import WebSocket

from quant.gateway.deps import GatewayPorts
from quant.users import access
from quant.users.access import UNAVAILABLE, Denial
from quant.users.directory import Caller
from quant.users.roles import Role

log = logging.getLogger(__name__)

ACCOUNT_ROLE = Role.VIEWER


def bearer_key(websocket: WebSocket) -> tuple[str | None, bool]:
    """The key of the upgrade request's ``Authorization: Bearer`` header (None: none or
    not a Bearer header) and whether the header was there at all."""
    header = websocket.headers.get("authorization")
    if header is None:
        return None, False
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None, True
    return token, True


def _limiter(websocket: WebSocket) -> anyio.CapacityLimiter:
    state = websocket.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "auth_limiter", None)
    if limiter is None:
        limiter = state.auth_limiter = access.new_limiter()
    return limiter


async def authenticate(websocket: WebSocket, key: str | None = None) -> Caller | Denial | None:
    """The caller of ``websocket``: from ``key`` (an ``auth`` message's) when given, else
    from the upgrade request's ``Authorization`` header; None when the client brought no
    credential (it may still send an ``auth`` message), or the :class:`Denial`."""
    header_present = False
    if key is None:
        key, header_present = bearer_key(websocket)
        if key is None and not header_present:
            return None
    ports: GatewayPorts = websocket.app.state.ports
    verdict = await access.authorize(
        ports.users, key, ACCOUNT_ROLE, _limiter(websocket), header_present=header_present
    )
    if isinstance(verdict, Denial):
        counter = ports.auth_failures or websocket.app.state.auth_failures
        counter.labels(reason=verdict.reason).inc()
        if verdict.reason == UNAVAILABLE:
            log.warning("stream API key not checked: %s", verdict.detail)
    return verdict
