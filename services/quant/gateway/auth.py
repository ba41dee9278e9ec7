"""API keys on the REST API: ``require_role(role)``, a FastAPI dependency.

An endpoint that needs a key declares
``caller: Annotated[Caller, Depends(require_role(Role.TRADER))]``. The dependency reads
``Authorization: Bearer <key>`` (the OpenAPI documents it as the ``bearer`` security
scheme, so ``/docs`` has an *Authorize* button), asks the user store
(:class:`~quant.gateway.ports.KeyVerifier`) in a worker thread of its own small pool (an
argon2id verification is CPU work: a flood of bad keys cannot take the threads quotes are
served from), and answers:

- 401 with ``WWW-Authenticate: Bearer`` when the key is missing, malformed, unknown or
  wrong;
- 403 when the user is disabled or the role is too low (viewer < trader < admin);
- 503 when there is no user store or it does not answer.

Every refusal is counted in ``gateway_auth_failures_total{reason}`` (reasons:
:class:`~quant.users.directory.Refusal`, and ``unavailable``). Keys are never logged,
echoed or put in an error message.
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
from quant.store.ports import StoreError
from quant.users.directory import Caller, Refusal, check_role
from quant.users.roles import Role

log = logging.getLogger(__name__)

AUTH_THREADS = 2
UNAVAILABLE = "unavailable"

bearer = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="qk_<key_id>_<secret>",
    description="An API key from `quant users add NAME --role ROLE` (or the `admin.key` "
    "file `quant up` writes on its first start), sent as `Authorization: Bearer <key>`.",
    auto_error=False,
)

_UNAUTHORIZED = {
    Refusal.MISSING: "an API key is needed: send 'Authorization: Bearer <key>'",
    Refusal.MALFORMED: "that is not an API key of this platform (qk_<key_id>_<secret>)",
    Refusal.UNKNOWN: "unknown API key",
    Refusal.BAD_SECRET: "wrong API key",
}


def failures_counter(registry: CollectorRegistry | None) -> Counter:
    """``gateway_auth_failures_total{reason}`` in ``registry`` (None: not registered);
    made once per process (the gateway service builds it, ``create_app`` otherwise)."""
    counter = Counter(
        "gateway_auth_failures_total",
        "Requests refused for their API key, by reason",
        ["reason"],
        registry=registry,
    )
    for reason in (*Refusal, UNAVAILABLE):  # every series exported from the start, at 0
        counter.labels(reason=reason)
    return counter


def auth_responses() -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entries of a keyed endpoint."""
    return {
        401: {"model": ErrorOut, "description": "No API key, or not a valid one"},
        403: {"model": ErrorOut, "description": "User disabled, or role too low"},
        503: {"model": ErrorOut, "description": "The user store cannot be asked"},
    }


def _limiter(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "auth_limiter", None)
    if limiter is None:
        limiter = state.auth_limiter = anyio.CapacityLimiter(AUTH_THREADS)
    return limiter


def _refuse(request: Request, reason: str, status: int, detail: str) -> HTTPException:
    counter: Counter | None = get_ports(request).auth_failures
    if counter is None:
        counter = request.app.state.auth_failures
    counter.labels(reason=reason).inc()
    log.debug("refused %s %s: %s", request.method, request.url.path, reason)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "5"}
    return HTTPException(status, detail, headers=headers)


def require_role(role: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency that returns the :class:`Caller` of a key with at least ``role``."""

    async def caller_with_role(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        if credentials is None:
            has_header = "authorization" in request.headers
            reason = Refusal.MALFORMED if has_header else Refusal.MISSING
            raise _refuse(request, reason, 401, _UNAUTHORIZED[reason])
        users = get_ports(request).users
        if users is None:
            raise _refuse(request, UNAVAILABLE, 503, "no user store is configured")
        try:
            verdict = await anyio.to_thread.run_sync(
                users.verify_key, credentials.credentials, limiter=_limiter(request)
            )
        except StoreError:
            log.warning("API key not checked: the user store does not answer")
            raise _refuse(request, UNAVAILABLE, 503, "the user store does not answer") from None
        if isinstance(verdict, Refusal):
            if verdict is Refusal.DISABLED:
                raise _refuse(request, verdict, 403, "this user is disabled")
            raise _refuse(request, verdict, 401, _UNAUTHORIZED[verdict])
        if check_role(verdict, role) is not None:
            raise _refuse(
                request,
                Refusal.ROLE,
                403,
                f"this needs the role {role.label} (or higher); yours is {verdict.role.label}",
            )
        return verdict

    return caller_with_role
