"""Reaching the Kubernetes API from a laptop: kubeconfig parsing and credential choice.

The apiserver itself is exercised in ``tests/operator/test_auth_k8s_secret.py``; here the
choice between the service account and the kubeconfig, each credential kind, and the
messages a user gets when something is missing.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from k8s_pki import issue_client_cert, make_pki
from quant.cli import main
from quant.upstox.auth import AccessToken
from quant.upstox.errors import UpstoxError
from quant.upstox.k8s_secret import KubernetesSecretTokenStore
from quant.upstox.kubeconfig import (
    KubeConfigError,
    access_from_kubeconfig,
    default_kubeconfig_path,
    load_kube_access,
)


def write_kubeconfig(
    path: Path, user: dict[str, Any], cluster: dict[str, Any] | None = None
) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c1", "cluster": cluster or {"server": "https://k8s.test:6443/prefix"}}
        ],
        "users": [{"name": "u1", "user": user}],
        "contexts": [{"name": "ctx1", "context": {"cluster": "c1", "user": "u1"}}],
        "current-context": "ctx1",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_kubeconfig_env_lists_several_files_and_the_first_existing_one_wins(tmp_path: Path) -> None:
    real = write_kubeconfig(tmp_path / "real.yaml", {"token": "t"})
    env = {"KUBECONFIG": f"{tmp_path / 'missing.yaml'}:{real}"}
    assert default_kubeconfig_path(env) == real
    assert default_kubeconfig_path({"HOME": "/x"}).name == "config"


def test_a_token_user_sends_a_bearer_header_and_is_never_described(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kc.yaml", {"token": "sekret-42"})
    access = load_kube_access(sa_dir=tmp_path / "no-sa", env={"KUBECONFIG": str(path)})
    assert access.server == "https://k8s.test:6443/prefix"
    assert access.headers == {"Authorization": "Bearer sekret-42"}
    assert "sekret" not in access.describe() and "ctx1" in access.describe()


def test_a_token_file_is_read_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("from-file\n")
    path = write_kubeconfig(tmp_path / "kc.yaml", {"tokenFile": "tok"})
    assert access_from_kubeconfig(path).headers == {"Authorization": "Bearer from-file"}


def test_a_client_certificate_user_loads_the_cert_and_the_cluster_ca(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    cert, key = issue_client_cert(pki, tmp_path / "pki", "alice", ("devs",))
    b64 = lambda p: base64.b64encode(p.read_bytes()).decode()  # noqa: E731
    user = {"client-certificate-data": b64(cert), "client-key-data": b64(key)}
    cluster = {"server": "https://127.0.0.1:1", "certificate-authority-data": b64(pki.ca_cert)}
    access = access_from_kubeconfig(write_kubeconfig(tmp_path / "kc.yaml", user, cluster))
    assert access.headers == {}
    assert access.tls.cert_store_stats()["x509_ca"] >= 1  # our CA is trusted
    # the same with file paths (relative to the kubeconfig's folder)
    user = {"client-certificate": "pki/alice.crt", "client-key": "pki/alice.key"}
    cluster = {"server": "https://127.0.0.1:1", "certificate-authority": "pki/ca.crt"}
    assert (
        access_from_kubeconfig(write_kubeconfig(tmp_path / "kc2.yaml", user, cluster)).headers == {}
    )


def test_an_exec_plugin_supplies_the_token(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, os\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "assert info['kind'] == 'ExecCredential'\n"
        "print(json.dumps({'kind': 'ExecCredential', 'status': {'token': os.environ['TOK']}}))\n"
    )
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin)],
            "env": [{"name": "TOK", "value": "exec-token"}],
        }
    }
    access = access_from_kubeconfig(write_kubeconfig(tmp_path / "kc.yaml", user))
    assert access.headers == {"Authorization": "Bearer exec-token"}


def test_a_failing_exec_plugin_is_named(tmp_path: Path) -> None:
    user = {"exec": {"command": sys.executable, "args": ["-c", "import sys; sys.exit('no login')"]}}
    with pytest.raises(KubeConfigError, match="exited 1: no login"):
        access_from_kubeconfig(write_kubeconfig(tmp_path / "kc.yaml", user))


@pytest.mark.parametrize(
    ("user", "cluster", "message"),
    [
        ({"token": "t"}, {"server": "https://h", "insecure-skip-tls-verify": True}, "insecure"),
        ({"token": "t"}, {"server": "http://h"}, "https server"),
        ({"auth-provider": {"name": "oidc"}}, None, "auth-provider"),
        ({}, None, "no token, client certificate or exec"),
    ],
)
def test_unusable_kubeconfigs_say_why(
    tmp_path: Path, user: dict[str, Any], cluster: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(KubeConfigError, match=message):
        access_from_kubeconfig(write_kubeconfig(tmp_path / "kc.yaml", user, cluster))


def test_in_a_pod_the_service_account_wins(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-token")
    kc = write_kubeconfig(tmp_path / "kc.yaml", {"token": "user-token"})
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBECONFIG": str(kc)}
    access = load_kube_access(sa_dir=tmp_path, env=env)
    assert access.headers == {"Authorization": "Bearer sa-token"}
    assert access.server == "https://kubernetes.default.svc"
    # outside a pod (no KUBERNETES_SERVICE_HOST) the same folder is ignored
    assert load_kube_access(sa_dir=tmp_path, env={"KUBECONFIG": str(kc)}).headers == {
        "Authorization": "Bearer user-token"
    }


def test_neither_a_pod_nor_a_kubeconfig_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(KubeConfigError, match=f"no kubeconfig at {missing}"):
        load_kube_access(sa_dir=tmp_path, env={"KUBECONFIG": str(missing)})


def test_the_store_talks_to_the_kubeconfigs_server_with_its_credentials(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    stored: dict[str, Any] = {}

    def apiserver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json=stored) if stored else httpx.Response(404, json={})
        if request.method == "PUT" and not stored:
            return httpx.Response(404, json={})
        stored.update(json.loads(request.content))
        return httpx.Response(201, json=stored)

    kc = write_kubeconfig(tmp_path / "kc.yaml", {"token": "user-token"})
    store = KubernetesSecretTokenStore(
        "trading",
        "upstox-token",
        access=lambda: access_from_kubeconfig(kc),
        transport=httpx.MockTransport(apiserver),
    )
    assert store.load() is None
    token = AccessToken(SecretStr("tok"), 1795557600000000007, 1795487284296726807, "AB1234")
    store.save(token)
    assert store.load() == token
    assert {r.headers["authorization"] for r in seen} == {"Bearer user-token"}
    assert {r.url.path for r in seen} == {
        "/prefix/api/v1/namespaces/trading/secrets/upstox-token",
        "/prefix/api/v1/namespaces/trading/secrets",
    }


def test_a_forbidden_secret_carries_the_apiservers_reason(tmp_path: Path) -> None:
    def apiserver(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": 'secrets "upstox-token" is forbidden'})

    kc = write_kubeconfig(tmp_path / "kc.yaml", {"token": "user-token"})
    store = KubernetesSecretTokenStore(
        "trading", "upstox-token", access=lambda: access_from_kubeconfig(kc),
        transport=httpx.MockTransport(apiserver),
    )  # fmt: skip
    with pytest.raises(UpstoxError, match=r"HTTP 403: secrets .* is forbidden .*kubeconfig"):
        store.load()


def test_auth_commands_without_a_cluster_say_so_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent.yaml"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("QUANT_UPSTOX__CLIENT_ID", "key1")
    assert main(["auth", "status", "--k8s-secret", "trading/upstox-token"]) == 1
    assert "no kubeconfig at" in capsys.readouterr().out
    # login refuses before it opens a login URL (an Upstox code is single-use)
    assert main(["auth", "login", "--k8s-secret", "trading/upstox-token", "--timeout", "1"]) == 1
    out = capsys.readouterr().out
    assert "login not started" in out and "Open this URL" not in out
