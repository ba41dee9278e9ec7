"""A request's browser session: the cookie, the CSRF check and the caller it stands for.

Used by :func:`quant.gateway.auth.require_role` (an API call made with the session cookie
instead of an API key) and by the login pages (:mod:`quant.gateway.login`).

- The cookie :data:`SESSION_COOKIE` carries the session id only: ``HttpOnly``,
  ``SameSite=Strict``, ``Path=/``, and ``Secure`` when the request came over TLS (or the
  setting ``login.secure_cookie`` says so; behind a TLS proxy uvicorn takes the scheme
  from ``X-Forwarded-Proto`` of a trusted proxy).
- Every state-changing request (not GET, HEAD or OPTIONS) made with a session carries
  the session's CSRF token: the ``X-CSRF-Token`` header for API calls, the ``csrf_token``
  field for the pages' forms. Calls with an API key (``Authorization``) need none: a
  browser never adds that header by itself.
- The session's user is read again on every request (a disabled user or a changed role
  counts from the next request), in a worker thread of the app's small auth pool.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

import anyio
from fastapi import Request, Response
from starlette.requests import HTTPConnection

from quant.gateway.deps import GatewayPorts
from quant.gateway.sessions import Session, SessionStore
from quant.gateway.settings import LoginSettings
from quant.store.ports import StoreError
from quant.users.access import Denial, deny, unavailable
from quant.users.directory import Caller, Refusal
from quant.users.roles import Role

SESSION_COOKIE = "quant_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
CSRF_REASON = "csrf"  # the auth failures' reason label of a missing or wrong token
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

EXPIRED = Denial(401, Refusal.UNKNOWN.value, "your session has ended: log in again at /login")
NO_CSRF = Denial(
    403,
    CSRF_REASON,
    f"a state-changing request made with a session cookie needs the session's CSRF token "
    f"in the {CSRF_HEADER} header (the pages' forms: the {CSRF_FIELD} field)",
)


def login_settings(conn: HTTPConnection) -> LoginSettings:
    settings: LoginSettings = conn.app.state.login_settings
    return settings


def session_store(conn: HTTPConnection) -> SessionStore:
    store: SessionStore = conn.app.state.sessions
    return store


def is_tls(request: HTTPConnection) -> bool:
    """Whether the session cookie must be ``Secure`` for this request."""
    return request.url.scheme in ("https", "wss") or login_settings(request).secure_cookie


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, path: str = "/"
) -> None:
    """An HttpOnly, SameSite=Strict cookie (Secure under TLS) that lasts the browser session."""
    response.set_cookie(
        name, value, path=path, httponly=True, samesite="strict", secure=is_tls(request)
    )


def clear_cookie(response: Response, request: Request, name: str, *, path: str = "/") -> None:
    response.delete_cookie(
        name, path=path, httponly=True, samesite="strict", secure=is_tls(request)
    )


def current_session(conn: HTTPConnection) -> tuple[str, Session] | None:
    """The live session the request's (or WebSocket's) cookie names (its idle time
    restarted), or None."""
    session_id = conn.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    session = session_store(conn).get(session_id)
    return None if session is None else (session_id, session)


def csrf_ok(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf_token.encode(), str(token).encode())


async def session_caller(
    request: HTTPConnection,
    ports: GatewayPorts,
    needed: Role,
    limiter: anyio.CapacityLimiter,
    *,
    csrf: Callable[[], str | None] | None = None,
) -> tuple[Caller, Session] | Denial:
    """The caller of the request's session with at least the role ``needed``, or why not.

    A state-changing request must carry the session's CSRF token (``csrf`` reads it; the
    ``X-CSRF-Token`` header by default). A WebSocket (an ``HTTPConnection`` that is not a
    ``Request``) is checked like a GET: its handshake changes nothing, and the
    SameSite=Strict cookie is not sent on another site's handshake.
    """
    found = current_session(request)
    if found is None:
        return EXPIRED
    _, session = found
    if isinstance(request, Request) and request.method not in SAFE_METHODS:
        token = csrf() if csrf is not None else request.headers.get(CSRF_HEADER)
        if not csrf_ok(session, token):
            return NO_CSRF
    if ports.accounts is None:
        return unavailable("no user store is configured")
    try:
        user = await anyio.to_thread.run_sync(ports.accounts.get, session.username, limiter=limiter)
    except StoreError:
        return unavailable("the user store does not answer")
    if user is None:
        return EXPIRED
    if user.disabled:
        return deny(Refusal.DISABLED)
    if not user.role.allows(needed):
        return deny(Refusal.ROLE, needed, user.role)
    return Caller(user.username, user.role), session
