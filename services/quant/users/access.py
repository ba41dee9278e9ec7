"""Checking a request's API key for a role: the one decision every HTTP API of the platform makes.

The gateway (``quant.gateway.auth``) and the execution service (``quant.execution.api``)
both turn ``Authorization: Bearer <key>`` into a :class:`~quant.users.directory.Caller`
or a :class:`Denial` with :func:`authorize`, then raise their framework's error from it.
The rules, the same everywhere:

- no key, or a header that is not ``Bearer <key>``, or a key that is malformed, unknown
  or wrong: 401 (with ``WWW-Authenticate: Bearer``);
- a disabled user, or a role below the endpoint's (viewer < trader < admin): 403;
- no user store, or one that does not answer (:class:`~quant.store.ports.StoreError`):
  503 with ``Retry-After``.

The key is verified in a worker thread of a small pool of the caller's own
(:func:`new_limiter`): an argon2id verification is CPU work, and a flood of bad keys must
not take the threads everything else runs on. Each denial carries the ``reason`` label of
the API's ``..._auth_failures_total{reason}`` counter (:func:`failures_counter`). Keys are
never logged, echoed or put in a message.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import anyio
from prometheus_client import CollectorRegistry, Counter

from quant.store.ports import StoreError
from quant.users.directory import Caller, Refusal, check_role
from quant.users.roles import Role

AUTH_THREADS = 2
UNAVAILABLE = "unavailable"  # the reason label when the user store cannot be asked
FAILURE_REASONS: tuple[str, ...] = (*(r.value for r in Refusal), UNAVAILABLE)

_UNAUTHORIZED = {
    Refusal.MISSING: "an API key is needed: send 'Authorization: Bearer <key>'",
    Refusal.MALFORMED: "that is not an API key of this platform (qk_<key_id>_<secret>)",
    Refusal.UNKNOWN: "unknown API key",
    Refusal.BAD_SECRET: "wrong API key",
}


class KeyVerifier(Protocol):
    """Who an API key belongs to (blocking: called in a worker thread); the
    :class:`~quant.users.directory.UserDirectory` is one."""

    def verify_key(self, text: str) -> Caller | Refusal:
        """The caller, or why the key is refused; :class:`quant.store.ports.StoreError`
        when the user store cannot be asked."""
        ...


class Denial(NamedTuple):
    """A refused request: the HTTP status, the metric's reason label and the words."""

    status: int  # 401, 403 or 503
    reason: str  # a Refusal value, or UNAVAILABLE
    detail: str

    @property
    def headers(self) -> dict[str, str]:
        if self.status == 401:
            return {"WWW-Authenticate": "Bearer"}
        if self.status == 503:
            return {"Retry-After": "5"}
        return {}


def deny(refusal: Refusal, needed: Role = Role.VIEWER, role: Role | None = None) -> Denial:
    """The denial for ``refusal`` (``needed`` and the caller's ``role`` word a ROLE one)."""
    if refusal is Refusal.DISABLED:
        return Denial(403, refusal.value, "this user is disabled")
    if refusal is Refusal.ROLE:
        yours = "" if role is None else f"; yours is {role.label}"
        return Denial(403, refusal.value, f"this needs the role {needed.label} (or higher){yours}")
    return Denial(401, refusal.value, _UNAUTHORIZED[refusal])


def unavailable(why: str) -> Denial:
    return Denial(503, UNAVAILABLE, why)


def new_limiter() -> anyio.CapacityLimiter:
    """The worker-thread pool one API verifies keys in (:data:`AUTH_THREADS` threads)."""
    return anyio.CapacityLimiter(AUTH_THREADS)


async def authorize(
    users: KeyVerifier | None,
    key: str | None,
    needed: Role,
    limiter: anyio.CapacityLimiter,
    *,
    header_present: bool = False,
) -> Caller | Denial:
    """The caller whose ``key`` has at least the role ``needed``, or why not.

    ``key`` is the token of a ``Bearer`` header (None when there was none, or the header
    was not ``Bearer <token>``: ``header_present`` tells which, MALFORMED or MISSING).
    """
    if key is None:
        return deny(Refusal.MALFORMED if header_present else Refusal.MISSING)
    if users is None:
        return unavailable("no user store is configured")
    try:
        verdict = await anyio.to_thread.run_sync(users.verify_key, key, limiter=limiter)
    except StoreError:
        return unavailable("the user store does not answer")
    if isinstance(verdict, Refusal):
        return deny(verdict, needed)
    if check_role(verdict, needed) is not None:
        return deny(Refusal.ROLE, needed, verdict.role)
    return verdict


def failures_counter(name: str, registry: CollectorRegistry | None) -> Counter:
    """The counter ``name{reason}`` of refused requests, every reason exported at 0 from the
    start, in ``registry`` (None: not registered). Make it once per process."""
    counter = Counter(
        name, "Requests refused for their API key, by reason", ["reason"], registry=registry
    )
    for reason in FAILURE_REASONS:
        counter.labels(reason=reason)
    return counter
