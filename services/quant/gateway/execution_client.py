"""``ExecutionClient``: the gateway's :class:`~quant.gateway.ports.ExecutionPort` over httpx.

The trading endpoints forward each request to the execution service's own API
(``QUANT_GATEWAY__EXECUTION_URL``, default ``http://127.0.0.1:8081``) with the caller's
``Authorization`` header, so the execution service checks the same key again and records
who asked. Connecting gives up after :data:`CONNECT_TIMEOUT_S` (the service is down or
restarting); an answer may take ``execution_timeout_s`` (a manual order waits for its
rate-limit slot in queue mode). Whatever goes wrong on the way (refused connection, time
out, a broken response) becomes :class:`~quant.gateway.ports.ExecutionUnavailable` with a
message for the caller, which the routers answer with 503: never a 500. The key is never
logged or put in a message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from quant.gateway.ports import ExecutionReply, ExecutionUnavailable

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0


class ExecutionClient:
    """Forwards requests to the execution service at ``base_url`` (one connection pool)."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 30.0,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        timeout = httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport, trust_env=False
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        authorization: str,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
    ) -> ExecutionReply:
        headers = {"Authorization": authorization} if authorization else {}
        try:
            response = await self._client.request(
                method, path, params=params, json=body, headers=headers
            )
        except httpx.TimeoutException as e:
            raise ExecutionUnavailable(self._timed_out(method, e)) from None
        except httpx.TransportError as e:
            log.warning("execution service %s: %s", self.base_url, type(e).__name__)
            raise ExecutionUnavailable(
                f"the execution service at {self.base_url} cannot be reached "
                "(is `quant execution` running?); try again shortly"
            ) from None
        try:
            parsed = response.json() if response.content else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            parsed = None
        return ExecutionReply(response.status_code, parsed)

    def _timed_out(self, method: str, error: httpx.TimeoutException) -> str:
        if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
            return (
                f"the execution service at {self.base_url} does not accept connections "
                "(is `quant execution` running?); try again shortly"
            )
        text = f"the execution service did not answer within {self._timeout_s:g} s"
        if method != "GET":
            text += "; the request may still take effect: check GET /api/v1/orders"
        return text

    async def aclose(self) -> None:
        await self._client.aclose()
