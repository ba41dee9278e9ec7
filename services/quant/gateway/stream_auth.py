"""Who a stream client is: :func:`authenticate`, the stream API's one authentication check.

A client proves who it is with an API key, either as ``Authorization: Bearer <key>`` on
the WebSocket upgrade request or in a first ``{"op": "auth", "key": "..."}`` message; the
decision is :func:`quant.users.access.authorize`'s (the REST API's rules), at the role
:data:`ACCOUNT_ROLE` (a viewer may watch the account channels).

A browser that logged in (:mod:`quant.gateway.login`) is let in by its session cookie on
the upgrade request, when there is no ``Authorization`` header: :func:`session_check`
(:func:`~quant.gateway.session_auth.session_caller`, checked like a GET), which also says
the ``Authorization`` to forward to the execution service for that caller (positions,
P&L: the key the gateway holds for the session's user). The check is a
:data:`SessionCheck`; ``app.state.stream_session_check`` replaces it (tests). Refusals are
counted in ``gateway_auth_failures_total{reason}``; keys and session ids are never logged
or echoed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import anyio
from fastapi import WebSocket

from quant.gateway.deps import GatewayPorts
from quant.gateway.session_auth import SESSION_COOKIE, session_caller
from quant.users import access
from quant.users.access import UNAVAILABLE, Denial
from quant.users.directory import Caller
from quant.users.roles import Role

log = logging.getLogger(__name__)

ACCOUNT_ROLE = Role.VIEWER


class Authenticated(NamedTuple):
    """A stream client's caller and the ``Authorization`` header to forward for it."""

    caller: Caller
    authorization: str


SessionCheck = Callable[[WebSocket], Awaitable["Authenticated | Denial | None"]]


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


async def authenticate(
    websocket: WebSocket, key: str | None = None
) -> Authenticated | Denial | None:
    """The caller of ``websocket``: from ``key`` (an ``auth`` message's) when given, else
    from the upgrade request's ``Authorization`` header, else from its session (the
    :data:`SessionCheck`, when the app has one); None when the client brought no credential
    (it may still send an ``auth`` message), or the :class:`Denial`."""
    ports: GatewayPorts = websocket.app.state.ports
    header_present = False
    if key is None:
        key, header_present = bearer_key(websocket)
        if key is None and not header_present:
            check: SessionCheck = getattr(
                websocket.app.state, "stream_session_check", session_check
            )
            verdict = await check(websocket)
            if isinstance(verdict, Denial):
                _count(websocket, ports, verdict)
            return verdict
    found = await access.authorize(
        ports.users, key, ACCOUNT_ROLE, _limiter(websocket), header_present=header_present
    )
    if isinstance(found, Denial):
        _count(websocket, ports, found)
        return found
    return Authenticated(found, f"Bearer {key}")


async def session_check(websocket: WebSocket) -> Authenticated | Denial | None:
    """The caller of the upgrade request's session cookie (None: no cookie)."""
    if SESSION_COOKIE not in websocket.cookies:
        return None
    ports: GatewayPorts = websocket.app.state.ports
    found = await session_caller(websocket, ports, ACCOUNT_ROLE, _limiter(websocket))
    if isinstance(found, Denial):
        return found
    caller, session = found
    return Authenticated(caller, f"Bearer {session.forward_key}")


def _count(websocket: WebSocket, ports: GatewayPorts, denial: Denial) -> None:
    counter = ports.auth_failures or websocket.app.state.auth_failures
    counter.labels(reason=denial.reason).inc()
    if denial.reason == UNAVAILABLE:
        log.warning("stream credential not checked: %s", denial.detail)
