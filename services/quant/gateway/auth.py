"""API keys and browser sessions on the REST API: ``require_role(role)``, a FastAPI dependency.

An endpoint that needs a key declares
``caller: Annotated[Caller, Depends(require_role(Role.TRADER))]``. The dependency reads
``Authorization: Bearer <key>`` (the OpenAPI documents it as the ``bearer`` security
scheme, so ``/docs`` has an *Authorize* button) and decides with
:func:`quant.users.access.authorize` (the rules the execution service's API uses too):
the key is verified against the user store (:class:`~quant.users.access.KeyVerifier`) in
a worker thread of the app's own small pool, and the answer is

- 401 with ``WWW-Authenticate: Bearer`` when the key is missing, malformed, unknown or
  wrong;
- 403 when the user is disabled or the role is too low (viewer < trader < admin);
- 503 when there is no user store or it does not answer.

A request without an ``Authorization`` header but with the session cookie of a browser
that logged in (:mod:`quant.gateway.login`) is decided by
:func:`quant.gateway.session_auth.session_caller` instead: 401 when the session has ended,
403 when a state-changing request (not GET, HEAD, OPTIONS) lacks the session's CSRF token
(``X-CSRF-Token``), or the user is disabled, or the role is too low. The caller's
credential to forward to the execution service (:func:`forward_authorization`) is the key
of the request, or for a session the key the gateway holds for that user.

Every refusal is counted in ``gateway_auth_failures_total{reason}`` (reasons:
:class:`~quant.users.directory.Refusal`, ``csrf`` and ``unavailable``). Keys, session ids
and CSRF tokens are never logged, echoed or put in an error message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter

from quant.gateway.deps import get_ports
from quant.gateway.errors import ErrorOut
from quant.gateway.session_auth import CSRF_REASON, SESSION_COOKIE, session_caller
from quant.users import access
from quant.users.access import UNAVAILABLE, Denial
from quant.users.directory import Caller
from quant.users.roles import Role

log = logging.getLogger(__name__)

AUTH_THREADS = access.AUTH_THREADS
__all__ = [
    "UNAVAILABLE",
    "auth_responses",
    "bearer",
    "failures_counter",
    "forward_authorization",
    "require_role",
]

bearer = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="qk_<key_id>_<secret>",
    description="An API key from `quant users add NAME --role ROLE` (or the `admin.key` "
    "file `quant up` writes on its first start), sent as `Authorization: Bearer <key>`.",
    auto_error=False,
)


def failures_counter(registry: CollectorRegistry | None) -> Counter:
    """``gateway_auth_failures_total{reason}`` in ``registry`` (None: not registered);
    made once per process (the gateway service builds it, ``create_app`` otherwise)."""
    counter = access.failures_counter("gateway_auth_failures_total", registry)
    counter.labels(reason=CSRF_REASON)
    return counter


def auth_responses() -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entries of a keyed endpoint."""
    return {
        401: {
            "model": ErrorOut,
            "description": "No API key, or not a valid one (or the session has ended)",
        },
        403: {
            "model": ErrorOut,
            "description": "User disabled, or role too low (or, with a session cookie, "
            "no CSRF token on a state-changing call)",
        },
        503: {"model": ErrorOut, "description": "The user store cannot be asked"},
    }


def forward_authorization(request: Request) -> str:
    """The ``Authorization`` header to forward for the caller ``require_role`` let in: the
    request's own, or for a browser session ``Bearer <the user's key held here>``."""
    forwarded: str | None = getattr(request.state, "forward_authorization", None)
    if forwarded is not None:
        return forwarded
    return request.headers.get("authorization", "")


def limiter_of(request: Request) -> anyio.CapacityLimiter:
    """The app's small pool of worker threads for argon2id and user-store calls."""
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "auth_limiter", None)
    if limiter is None:
        limiter = state.auth_limiter = access.new_limiter()
    return limiter


def _refuse(request: Request, denial: Denial) -> HTTPException:
    counter: Counter | None = get_ports(request).auth_failures
    if counter is None:
        counter = request.app.state.auth_failures
    counter.labels(reason=denial.reason).inc()
    if denial.reason == UNAVAILABLE:
        log.warning("API key not checked: %s", denial.detail)
    else:
        log.debug("refused %s %s: %s", request.method, request.url.path, denial.reason)
    return HTTPException(denial.status, denial.detail, headers=denial.headers or None)


def require_role(role: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency that returns the :class:`Caller` of a key (or a browser session) with
    at least ``role``."""

    async def caller_with_role(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        has_header = "authorization" in request.headers
        if not has_header and SESSION_COOKIE in request.cookies:
            found = await session_caller(request, get_ports(request), role, limiter_of(request))
            if isinstance(found, Denial):
                raise _refuse(request, found)
            caller, session = found
            request.state.forward_authorization = f"Bearer {session.forward_key}"
            return caller
        verdict = await access.authorize(
            get_ports(request).users,
            None if credentials is None else credentials.credentials,
            role,
            limiter_of(request),
            header_present=has_header,
        )
        if isinstance(verdict, Denial):
            raise _refuse(request, verdict)
        return verdict

    return caller_with_role
