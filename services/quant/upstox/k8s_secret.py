"""A :class:`~quant.upstox.auth.TokenStore` backed by a Kubernetes Secret.

Used by ``quant auth login --k8s-secret NS/NAME`` inside the cluster and by the operator's
token rotation: it reads and writes the Secret through the Kubernetes API with httpx,
authenticating with the pod's service-account token and verifying the API server with
the service-account CA. The Secret holds ``access_token`` (the token) and ``token.json``
(token plus expiry), so pods can mount either.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from quant.upstox.auth import AccessToken, token_from_json, token_to_json
from quant.upstox.config import make_ssl_context
from quant.upstox.errors import UpstoxError

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubernetesSecretTokenStore:
    """Read/write the token in ``namespace/name`` (created if missing)."""

    def __init__(
        self,
        namespace: str,
        name: str,
        *,
        api_server: str = "https://kubernetes.default.svc",
        sa_dir: Path = SA_DIR,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self._api = api_server.rstrip("/")
        self._sa_dir = sa_dir
        self._transport = transport

    def _client(self) -> httpx.Client:
        token = (self._sa_dir / "token").read_text(encoding="utf-8").strip()
        ca = self._sa_dir / "ca.crt"
        return httpx.Client(
            transport=self._transport,
            verify=make_ssl_context(ca if ca.exists() else None),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=10.0,
        )

    @property
    def _url(self) -> str:
        return f"{self._api}/api/v1/namespaces/{self.namespace}/secrets"

    def load(self) -> AccessToken | None:
        with self._client() as http:
            response = http.get(f"{self._url}/{self.name}")
        if response.status_code == 404:
            return None
        if response.status_code >= 300:
            raise UpstoxError(
                f"reading secret {self.namespace}/{self.name}: HTTP {response.status_code}"
            )
        data = response.json().get("data") or {}
        raw = data.get("token.json")
        if not isinstance(raw, str):
            return None
        return token_from_json(base64.b64decode(raw).decode(), f"secret {self.name}")

    def save(self, token: AccessToken) -> None:
        def b64(text: str) -> str:
            return base64.b64encode(text.encode()).decode()

        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "type": "Opaque",
            "data": {
                "access_token": b64(token.token.get_secret_value()),
                "token.json": b64(token_to_json(token)),
            },
        }
        with self._client() as http:
            response = http.put(f"{self._url}/{self.name}", json=body)
            if response.status_code == 404:
                response = http.post(self._url, json=body)
        if response.status_code >= 300:
            raise UpstoxError(
                f"writing secret {self.namespace}/{self.name}: HTTP {response.status_code}"
            )
