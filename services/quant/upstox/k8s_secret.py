"""A :class:`~quant.upstox.auth.TokenStore` backed by a Kubernetes Secret.

Used by ``quant auth login --k8s-secret NS/NAME`` and by the operator's token rotation:
it reads and writes the Secret through the Kubernetes API with httpx. Inside a pod it
authenticates with the service account; elsewhere (a laptop) with the kubeconfig
(``$KUBECONFIG``, else ``~/.kube/config``): see :mod:`quant.upstox.kubeconfig`. The API
server's certificate is always verified. The Secret holds ``access_token`` (the token)
and ``token.json`` (token plus expiry), so pods can mount either.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from quant.upstox.auth import AccessToken, token_from_json, token_to_json
from quant.upstox.errors import UpstoxError
from quant.upstox.kubeconfig import (
    IN_CLUSTER_SERVER,
    KubeAccess,
    KubeConfigError,
    in_cluster_access,
    load_kube_access,
)


class KubernetesSecretTokenStore:
    """Read/write the token in ``namespace/name`` (created if missing).

    ``access`` says how to reach the API (default: the service account in a pod, else
    the kubeconfig); ``sa_dir`` (with ``api_server``) forces a service-account directory.
    """

    def __init__(
        self,
        namespace: str,
        name: str,
        *,
        access: Callable[[], KubeAccess] | None = None,
        api_server: str = IN_CLUSTER_SERVER,
        sa_dir: Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.namespace = namespace
        self.name = name
        if access is None:
            if sa_dir is not None:
                chosen_dir = sa_dir

                def access() -> KubeAccess:
                    return in_cluster_access(chosen_dir, api_server)
            else:
                access = load_kube_access
        self._access = access
        self._resolved: KubeAccess | None = None
        self._transport = transport

    def _kube(self) -> KubeAccess:
        if self._resolved is None:
            try:
                self._resolved = self._access()
            except (KubeConfigError, OSError) as e:
                raise UpstoxError(f"secret {self.namespace}/{self.name}: {e}") from e
        return self._resolved

    def _client(self) -> httpx.Client:
        kube = self._kube()
        return httpx.Client(
            base_url=kube.server,
            transport=self._transport,
            verify=kube.tls,
            headers={**kube.headers, "Accept": "application/json"},
            timeout=10.0,
        )

    def describe(self) -> str:
        """The Secret and how it is reached (server and credential source, no secrets)."""
        return f"secret {self.namespace}/{self.name} via {self._kube().describe()}"

    @property
    def _url(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/secrets"

    def _fail(self, doing: str, response: httpx.Response) -> UpstoxError:
        """The apiserver's own reason (a Status message; it carries no secret values)."""
        try:
            reason = str(response.json().get("message") or "")
        except ValueError:
            reason = ""
        where = self._resolved.describe() if self._resolved is not None else "the API"
        return UpstoxError(
            f"{doing} secret {self.namespace}/{self.name}: HTTP {response.status_code}"
            f"{': ' + reason if reason else ''} (via {where})"
        )

    def _request(
        self, method: str, url: str, body: Mapping[str, object] | None = None
    ) -> httpx.Response:
        try:
            with self._client() as http:
                return http.request(method, url, json=body)
        except httpx.HTTPError as e:
            raise UpstoxError(
                f"secret {self.namespace}/{self.name}: cannot reach {self._kube().server}: {e}"
            ) from e

    def load(self) -> AccessToken | None:
        response = self._request("GET", f"{self._url}/{self.name}")
        if response.status_code == 404:
            return None
        if response.status_code >= 300:
            raise self._fail("reading", response)
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
        response = self._request("PUT", f"{self._url}/{self.name}", body)
        if response.status_code == 404:
            response = self._request("POST", self._url, body)
        if response.status_code >= 300:
            raise self._fail("writing", response)
