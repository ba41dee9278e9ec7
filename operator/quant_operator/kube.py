"""A small async Kubernetes API port and its httpx adapter.

The reconciler needs five verbs on a handful of resources (get, list by label,
create, merge-patch (strategic for the execution container's env), delete), so this is
a thin typed client over the REST API rather than a generated SDK. :class:`KubeApi` is
the port (tests use an in-memory fake); :class:`HttpKube` talks to the apiserver with
the credentials kopf resolved (``kopf.login_with_kubeconfig`` /
``login_with_service_account``), TLS verified.
Built by ``quant_operator.handlers`` at operator startup; closed at cleanup.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx
import kopf


class KubeError(Exception):
    """An apiserver call failed; ``status`` is the HTTP status (0 for transport errors)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status


class KubeApi(Protocol):
    async def get(self, path: str) -> dict[str, Any] | None:
        """The object at ``path``, or ``None`` if it does not exist."""
        ...

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        """The ``items`` of a collection."""
        ...

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """Create; ``None`` if it already exists (409), which callers treat as done."""
        ...

    async def patch(
        self, path: str, body: Mapping[str, Any], *, strategic: bool = False
    ) -> dict[str, Any] | None:
        """JSON merge patch (strategic merge patch with ``strategic``, for built-in kinds
        whose lists merge by key, e.g. a container's ``env`` by name); ``None`` if the
        object is gone."""
        ...


def deployments_path(namespace: str, name: str | None = None) -> str:
    base = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    return f"{base}/{name}" if name else base


def jobs_path(namespace: str, name: str | None = None) -> str:
    base = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    return f"{base}/{name}" if name else base


def pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


def secret_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace}/secrets/{name}"


def configmap_path(namespace: str, name: str | None = None) -> str:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    return f"{base}/{name}" if name else base


def tradingday_path(namespace: str, name: str, *, status: bool = False) -> str:
    path = f"/apis/trading.quant-platform.io/v1alpha1/namespaces/{namespace}/tradingdays/{name}"
    return f"{path}/status" if status else path


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def _pem(data: str | bytes) -> bytes:
    """kubeconfig ``*-data`` fields are base64 of PEM; kopf may hand either form."""
    raw = _as_bytes(data)
    return raw if raw.lstrip().startswith(b"-----") else base64.b64decode(raw)


def ssl_context(info: kopf.ConnectionInfo) -> ssl.SSLContext:
    """A verifying TLS context with the cluster CA and the client certificate, if any."""
    ctx = ssl.create_default_context()
    if info.ca_path:
        ctx.load_verify_locations(cafile=os.fsdecode(info.ca_path))
    elif info.ca_data:
        ctx.load_verify_locations(cadata=_pem(info.ca_data).decode())
    cert, key = info.certificate_path, info.private_key_path
    if cert and key:
        ctx.load_cert_chain(os.fsdecode(cert), os.fsdecode(key))
    elif info.certificate_data and info.private_key_data:
        # ssl loads a chain only from files: write them to a private dir, then remove it.
        with tempfile.TemporaryDirectory(prefix="quant-operator-") as tmp:
            cert_file, key_file = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
            cert_file.write_bytes(_pem(info.certificate_data))
            key_file.touch(mode=0o600)
            key_file.write_bytes(_pem(info.private_key_data))
            ctx.load_cert_chain(str(cert_file), str(key_file))
    return ctx


class HttpKube:
    """:class:`KubeApi` over httpx; one pooled connection per operator."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    @classmethod
    def from_connection(cls, info: kopf.ConnectionInfo, timeout: float = 10.0) -> HttpKube:
        headers = {"Accept": "application/json"}
        if info.token:
            headers["Authorization"] = f"{info.scheme or 'Bearer'} {info.token}"
        auth = httpx.BasicAuth(info.username, info.password or "") if info.username else None
        client = httpx.AsyncClient(
            base_url=info.server.rstrip("/"),
            verify=ssl_context(info),
            headers=headers,
            auth=auth,
            timeout=timeout,
        )
        return cls(client)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": content_type} if content_type else None
        try:
            return await self._client.request(
                method, path, params=params, json=json, headers=headers
            )
        except httpx.HTTPError as e:
            raise KubeError(0, f"{method} {path}: {e}") from e

    @staticmethod
    def _fail(resp: httpx.Response) -> KubeError:
        try:
            message = str(resp.json().get("message", resp.text))
        except ValueError:
            message = resp.text
        where = f"{resp.request.method} {resp.request.url.path}"
        return KubeError(resp.status_code, f"{where}: {message}")

    async def get(self, path: str) -> dict[str, Any] | None:
        resp = await self._send("GET", path)
        if resp.status_code == 404:
            return None
        if resp.is_error:
            raise self._fail(resp)
        body: dict[str, Any] = resp.json()
        return body

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector} if label_selector else None
        resp = await self._send("GET", path, params=params)
        if resp.is_error:
            raise self._fail(resp)
        items: list[dict[str, Any]] = resp.json().get("items") or []
        return items

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        resp = await self._send("POST", path, json=body)
        if resp.status_code == 409:
            return None
        if resp.is_error:
            raise self._fail(resp)
        created: dict[str, Any] = resp.json()
        return created

    async def patch(
        self, path: str, body: Mapping[str, Any], *, strategic: bool = False
    ) -> dict[str, Any] | None:
        kind = "strategic-merge-patch" if strategic else "merge-patch"
        resp = await self._send("PATCH", path, json=body, content_type=f"application/{kind}+json")
        if resp.status_code == 404:
            return None
        if resp.is_error:
            raise self._fail(resp)
        patched: dict[str, Any] = resp.json()
        return patched
