"""Small helpers shared by the simulator's REST routes: auth + rate limit, JSON replies.

``authed(request, bucket)`` validates the bearer token (401 ``UDAPI100050``), applies any
injected REST fault and the per-user rate limit (429 ``UDAPI10005``) and returns the
session. ``ok(data)`` wraps a payload in Upstox's success envelope.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from quant.sim.auth import Session
from quant.sim.errors import SimApiError
from quant.sim.state import SimState


def sim_state(conn: HTTPConnection) -> SimState:
    state: SimState = conn.app.state.sim
    return state


def authed(conn: HTTPConnection, bucket: str = "standard") -> Session:
    """The caller's session after auth, injected faults and rate limiting."""
    state = sim_state(conn)
    session = state.tokens.validate(conn.headers.get("authorization"))
    failures = state.faults.rest_failures
    if failures:
        code, status = failures.pop(0)
        raise SimApiError(status, code, "Injected failure")
    state.limiter.check(session.user_id, bucket)
    return session


def public(conn: HTTPConnection) -> None:
    """Faults and rate limiting for the APIs the SDK calls without a token (historical
    candles, holidays, timings); the limit is keyed by client address."""
    state = sim_state(conn)
    failures = state.faults.rest_failures
    if failures:
        code, status = failures.pop(0)
        raise SimApiError(status, code, "Injected failure")
    host = conn.client.host if conn.client else "unknown"
    state.limiter.check("ip:" + host, "standard")


def ok(data: Any, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data, **extra})
