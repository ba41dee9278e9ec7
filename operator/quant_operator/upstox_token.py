"""Asking Upstox for a fresh access token through the token-request flow.

``POST <api_base>/v3/login/auth/token/request/<client_id>`` with ``{"client_secret"}``
makes Upstox prompt the user (app + WhatsApp); on approval Upstox posts the new token to
the app's notifier webhook, which writes the token Secret (``quant auth``). The operator
only triggers the request and then watches the Secret. Port :class:`TokenRequester`;
adapter :class:`HttpTokenRequester` (httpx, TLS verified). The secret is never logged.
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx
from pydantic import SecretStr

log = logging.getLogger(__name__)


class TokenRequestError(Exception):
    """Upstox refused or could not be reached; ``retryable`` tells the handler what to do."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class TokenRequester(Protocol):
    async def request_token(self) -> str:
        """Start a token request; returns a short description (e.g. its expiry)."""
        ...


class HttpTokenRequester:
    def __init__(
        self, client: httpx.AsyncClient, api_base: str, client_id: str, client_secret: SecretStr
    ) -> None:
        self._client = client
        self._url = f"{api_base.rstrip('/')}/v3/login/auth/token/request/{client_id}"
        self._secret = client_secret

    async def request_token(self) -> str:
        try:
            resp = await self._client.post(
                self._url,
                json={"client_secret": self._secret.get_secret_value()},
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as e:
            raise TokenRequestError(f"token request failed: {e}", retryable=True) from e
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TokenRequestError(f"token request: HTTP {resp.status_code}", retryable=True)
        if resp.is_error:
            raise TokenRequestError(
                f"token request rejected: HTTP {resp.status_code} {resp.text[:200]}",
                retryable=False,
            )
        data = (resp.json() or {}).get("data") or {}
        expiry = data.get("authorization_expiry", "unknown")
        log.info("token request sent; approve it in the Upstox app (expires %s)", expiry)
        return f"token request sent (authorization expires {expiry})"
