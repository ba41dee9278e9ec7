"""The two login flows of ``quant auth login``, writing the token to a ``TokenStore``.

* code flow: announce the Upstox login dialog URL, receive the browser's redirect on the
  ``redirect_uri``'s local port, check ``state``, exchange the single-use code, store;
* token-request flow: ask Upstox to push an approval to the user's app, receive the token
  on a local webhook (the app's notifier URL must reach it), store.

Called by :mod:`quant.auth.cli` (and by tests against the simulator). ``announce`` is
how the caller shows the URL to a person; nothing here prints or logs a token.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from quant.auth.receiver import OneShotReceiver
from quant.core.clock import Clock
from quant.upstox.auth import (
    AccessToken,
    TokenStore,
    authorization_url,
    exchange_code,
    parse_token_webhook,
    request_token,
)
from quant.upstox.config import make_ssl_context
from quant.upstox.errors import UpstoxAuthError
from quant.upstox.settings import UpstoxSettings

log = logging.getLogger(__name__)

Announce = Callable[[str], None]


def _http(ca_file: Path | None, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, verify=make_ssl_context(ca_file), timeout=30.0)


async def login_with_code(
    settings: UpstoxSettings,
    store: TokenStore,
    *,
    announce: Announce,
    clock: Clock,
    wait_seconds: float = 300.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AccessToken:
    """OAuth code flow; returns the stored token."""
    redirect = urlsplit(settings.redirect_uri)
    if redirect.scheme != "http" or redirect.hostname not in ("127.0.0.1", "localhost"):
        raise ValueError(
            f"redirect_uri {settings.redirect_uri!r} must be http://127.0.0.1:<port>/<path> "
            "to be received locally"
        )
    state = secrets.token_urlsafe(16)
    receiver = OneShotReceiver(redirect.hostname, redirect.port or 80, redirect.path or "/")
    await receiver.start()
    try:
        announce(
            authorization_url(settings.api_base, settings.client_id, settings.redirect_uri, state)
        )
        request = await receiver.wait(wait_seconds)
    finally:
        await receiver.close()
    if request.query.get("state") != state:
        raise UpstoxAuthError("login redirect carried the wrong state; refusing the code")
    code = request.query.get("code")
    if not code:
        raise UpstoxAuthError("login redirect carried no code (was the login cancelled?)")
    async with _http(settings.ca_file, transport) as http:
        token = await exchange_code(
            http,
            settings.api_base,
            code=code,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            redirect_uri=settings.redirect_uri,
            clock=clock,
        )
    store.save(token)
    log.info("stored %s", token.describe())
    return token


async def login_with_token_request(
    settings: UpstoxSettings,
    store: TokenStore,
    *,
    announce: Announce,
    clock: Clock,
    webhook_host: str = "127.0.0.1",
    webhook_port: int = 8766,
    webhook_path: str = "/upstox/notifier",
    wait_seconds: float = 600.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AccessToken:
    """Token-request flow: Upstox asks the user to approve, then POSTs the token to us."""
    receiver = OneShotReceiver(webhook_host, webhook_port, webhook_path, method="POST")
    await receiver.start()
    try:
        async with _http(settings.ca_file, transport) as http:
            ack = await request_token(
                http,
                settings.api_base,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
            )
        announce(
            f"approve the login in the Upstox app; waiting for the token on "
            f"http://{webhook_host}:{receiver.port}{webhook_path} "
            f"(Upstox notifies {ack.notifier_url or 'the app notifier URL'})"
        )
        request = await receiver.wait(wait_seconds)
    finally:
        await receiver.close()
    token = parse_token_webhook(request.body, settings.client_id, clock.now_ns())
    store.save(token)
    log.info("stored %s", token.describe())
    return token
