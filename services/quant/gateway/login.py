"""The login pages: ``GET/POST /login``, ``POST /logout`` and the home page ``/``.

- ``GET /login``: the form (user name, password, a CSRF token). Before a login there is
  no session, so the form's token is a double-submit one: the same random value in the
  form and in the ``quant_login_csrf`` cookie (HttpOnly, SameSite=Strict, path
  ``/login``); a form posted from another site has neither.
- ``POST /login`` (``application/x-www-form-urlencoded``): the password is checked with
  argon2id against the ``users`` table (:class:`~quant.gateway.ports.AccountDirectory`,
  in a worker thread of the auth pool). Success makes a NEW session (a fresh random id,
  whatever cookie came in, and any session it named is ended: no fixation), sets the
  ``quant_session`` cookie and redirects (303) to ``/``. A wrong name or password is 401
  with one message for both; a disabled user 403; a name or client address with
  ``max_failures`` failures within ``window_s`` is refused with 429 and ``Retry-After``
  before its password is looked at (:class:`~quant.gateway.lockout.LoginLockout`). Each
  refusal is counted in ``gateway_login_failures_total{reason}``, each lockout in
  ``gateway_login_lockouts_total``.
- ``POST /logout`` (form with the session's ``csrf_token``): ends the session on the
  server, clears the cookie, redirects to ``/login``; 403 without the token.
- ``GET /``: the home page, which says who is logged in; without a session it redirects
  to ``/login``.

The gateway forwards a session's trading calls to the execution service with an API key
it issues for that user at their first login in this process and keeps in memory only
(:func:`quant.gateway.auth.forward_authorization`). Passwords, session ids and tokens are
never logged.
"""

from __future__ import annotations

import hmac
import html
import logging
import math
import secrets
from typing import Annotated
from urllib.parse import parse_qs

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from quant.gateway.auth import limiter_of
from quant.gateway.deps import GatewayPorts, get_ports
from quant.gateway.lockout import LoginLockout
from quant.gateway.login_metrics import LoginMetrics
from quant.gateway.pages import render
from quant.gateway.session_auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    clear_cookie,
    current_session,
    session_caller,
    session_store,
    set_cookie,
)
from quant.gateway.sessions import new_session
from quant.store.ports import StoreError
from quant.users.access import Denial
from quant.users.directory import Caller, Refusal
from quant.users.roles import Role

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "quant_login_csrf"
LOGIN_PATH = "/login"
MAX_FORM_BYTES = 4096
WRONG = "wrong user name or password"


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _title(request: Request) -> str:
    return str(request.app.title)


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _metrics(request: Request) -> LoginMetrics:
    metrics: LoginMetrics | None = get_ports(request).login_metrics
    if metrics is None:
        metrics = request.app.state.login_metrics
    return metrics


def _lockout(request: Request) -> LoginLockout:
    lockout: LoginLockout = request.app.state.lockout
    return lockout


def _redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(_root(request) + path, status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form of the request (one value per field; empty when not a form)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in fields.items() if v}


def _login_page(
    request: Request, *, status: int = 200, message: str = "", username: str = ""
) -> Response:
    """The form, with a fresh double-submit CSRF token (and ``message``, when refused)."""
    token = secrets.token_urlsafe(32)
    alert = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    page = render(
        "login.html",
        status=status,
        markup={"message": alert},
        title=_title(request),
        root=_root(request),
        csrf_token=token,
        username=username,
    )
    set_cookie(page, request, LOGIN_CSRF_COOKIE, token, path=_root(request) + LOGIN_PATH)
    return page


def _refused(
    request: Request, reason: str, status: int, message: str, username: str = ""
) -> Response:
    _metrics(request).failures.labels(reason=reason).inc()
    log.info("login refused (%s) from %s", reason, _address(request))
    return _login_page(request, status=status, message=message, username=username)


@router.get(LOGIN_PATH)
async def login_page(request: Request) -> Response:
    if current_session(request) is not None:
        return _redirect(request, "/")
    return _login_page(request)


@router.post(LOGIN_PATH)
async def login(request: Request, ports: Annotated[GatewayPorts, Depends(get_ports)]) -> Response:
    form = await _form(request)
    username = form.get("username", "").strip()[:64]
    password = form.get("password", "")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    given = form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        return _refused(
            request, "csrf", 403, "the login form had expired: please log in again", username
        )
    if ports.accounts is None:
        return _refused(request, "unavailable", 503, "no user store is configured", username)
    lockout, address = _lockout(request), _address(request)
    wait_s = lockout.locked_for_s(username, address)
    if wait_s > 0:
        minutes = max(1, math.ceil(wait_s / 60))
        page = _refused(
            request,
            "locked_out",
            429,
            "too many failed logins for this user or from this address: "
            f"try again in {minutes} minute{'s' if minutes != 1 else ''}",
            username,
        )
        page.headers["Retry-After"] = str(math.ceil(wait_s))
        return page
    try:
        verdict = await anyio.to_thread.run_sync(
            ports.accounts.verify_password, username, password, limiter=limiter_of(request)
        )
    except StoreError:
        return _refused(
            request, "unavailable", 503, "the user store does not answer: try again", username
        )
    if verdict in (Refusal.UNKNOWN, Refusal.BAD_SECRET) or not username:
        if lockout.failed(username, address):
            _metrics(request).lockouts.inc()
        return _refused(request, "bad_credentials", 401, WRONG, username)
    if not isinstance(verdict, Caller):
        return _refused(request, "disabled", 403, "this user is disabled", username)
    lockout.succeeded(username)
    return await _start_session(request, ports, verdict)


async def _start_session(request: Request, ports: GatewayPorts, caller: Caller) -> Response:
    assert ports.accounts is not None
    keys: dict[str, str] = request.app.state.forward_keys
    key = keys.get(caller.username)
    if key is None:
        try:
            issued = await anyio.to_thread.run_sync(
                ports.accounts.issue_key, caller.username, limiter=limiter_of(request)
            )
        except StoreError:
            return _refused(
                request, "unavailable", 503, "the user store does not answer: try again"
            )
        key = keys[caller.username] = issued.text
    store = session_store(request)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        store.delete(old)  # whatever session the browser had ends here: no fixation
    now_ns = request.app.state.session_clock.now_ns()
    session_id, session = new_session(caller.username, key, now_ns)
    store.put(session_id, session)
    log.info("user %s logged in (role %s)", caller.username, caller.role.label)
    response = _redirect(request, "/")
    set_cookie(response, request, SESSION_COOKIE, session_id, path=_root(request) + "/")
    clear_cookie(response, request, LOGIN_CSRF_COOKIE, path=_root(request) + LOGIN_PATH)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    found = current_session(request)
    if found is not None:
        session_id, session = found
        form = await _form(request)
        given = form.get(CSRF_FIELD, "")
        if not hmac.compare_digest(session.csrf_token.encode(), given.encode()):
            _metrics(request).failures.labels(reason="csrf").inc()
            return Response("the logout form needs its CSRF token", 403, media_type="text/plain")
        session_store(request).delete(session_id)
        log.info("user %s logged out", session.username)
    response = _redirect(request, LOGIN_PATH)
    clear_cookie(response, request, SESSION_COOKIE, path=_root(request) + "/")
    return response


@router.get("/")
async def home(request: Request, ports: Annotated[GatewayPorts, Depends(get_ports)]) -> Response:
    found = await session_caller(request, ports, Role.VIEWER, limiter_of(request))
    if isinstance(found, Denial):
        if found.status == 503:
            return Response(found.detail, 503, headers=found.headers, media_type="text/plain")
        return _redirect(request, LOGIN_PATH)
    caller, session = found
    return render(
        "home.html",
        title=_title(request),
        root=_root(request),
        csrf_token=session.csrf_token,
        username=caller.username,
        role=caller.role.label,
    )
