"""``quant auth login --k8s-secret`` from a laptop: through a kubeconfig, not a pod.

The real apiserver of the operator tier; ``quant auth`` runs as a subprocess the way a
user runs it (no service account, ``KUBECONFIG`` pointing at a client-certificate or a
token kubeconfig of a non-admin identity that may only touch Secrets in its namespace),
logs in to the Upstox simulator with the OAuth code flow (this test plays the browser)
and writes the token Secret; ``quant auth status`` reads it back.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_operator_token_request import simulator

from k8s_control_plane import ControlPlane
from quant.sim.config import SimConfig

pytestmark = [pytest.mark.operator]

SECRET = "upstox-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _grant_secrets(cluster: ControlPlane, ns: str, subject: dict[str, str]) -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "token-writer", "namespace": ns},
        "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create", "update"]}
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"token-writer-{subject['name']}", "namespace": ns},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "token-writer",
        },
        "subjects": [subject],
    }
    cluster.apply_objects([role, binding])


def _laptop_env(
    kubeconfig: Path, home: Path, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a user's shell: a kubeconfig, and no trace of a pod."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "QUANT_"))}
    env.update({"KUBECONFIG": str(kubeconfig), "HOME": str(home), **(extra or {})})
    return env


def _quant(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quant.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _secret_token(cluster: ControlPlane, ns: str) -> dict[str, Any]:
    out = cluster.kubectl("get", "secret", "-n", ns, SECRET, "-o", "json").stdout
    data = json.loads(out)["data"]
    loaded: dict[str, Any] = json.loads(base64.b64decode(data["token.json"]))
    assert base64.b64decode(data["access_token"]).decode() == loaded["access_token"]
    return loaded


def _login_through_the_browser(env: dict[str, str], ns: str) -> tuple[int, str]:
    """Run ``quant auth login --k8s-secret``; open the URL it prints, as a browser would."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "quant.cli", "auth", "login", "--k8s-secret", f"{ns}/{SECRET}",
         "--timeout", "60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("  http"):
                page = httpx.get(line.strip(), follow_redirects=True, timeout=30)
                assert page.status_code == 200, page.text
                break
        seen.extend(proc.stdout)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return code, "".join(seen)


def test_login_stores_the_token_through_a_client_certificate_kubeconfig(
    k8s_cluster: ControlPlane, k8s_namespace: str, tmp_path: Path
) -> None:
    ns = k8s_namespace
    _grant_secrets(k8s_cluster, ns, {"kind": "User", "name": "laptop-trader"})
    kubeconfig = k8s_cluster.user_kubeconfig("laptop-trader")
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    config = SimConfig(redirect_uri=redirect)
    with simulator(config) as base_url:
        env = _laptop_env(
            kubeconfig,
            tmp_path,
            {
                "QUANT_UPSTOX__API_BASE": base_url,
                "QUANT_UPSTOX__CLIENT_ID": config.client_id,
                "QUANT_UPSTOX__CLIENT_SECRET": config.client_secret,
                "QUANT_UPSTOX__REDIRECT_URI": redirect,
            },
        )
        status = _quant(env, "auth", "status", "--k8s-secret", f"{ns}/{SECRET}")
        assert status.returncode == 1 and "no token stored" in status.stdout, status
        code, out = _login_through_the_browser(env, ns)
    assert code == 0, out
    assert f"secret {ns}/{SECRET} via {k8s_cluster.server}" in out
    assert "stored" in out and config.user_id in out
    stored = _secret_token(k8s_cluster, ns)
    assert stored["user_id"] == config.user_id
    assert stored["access_token"] not in out  # the token is never printed
    status = _quant(env, "auth", "status", "--k8s-secret", f"{ns}/{SECRET}")
    assert status.returncode == 0 and config.user_id in status.stdout, status


def test_a_service_account_token_kubeconfig_works_and_rbac_refusals_are_explained(
    k8s_cluster: ControlPlane, k8s_namespace: str, tmp_path: Path
) -> None:
    ns = k8s_namespace
    k8s_cluster.kubectl("create", "serviceaccount", "-n", ns, "laptop")
    token = k8s_cluster.kubectl("create", "token", "-n", ns, "laptop").stdout.strip()
    admin = yaml.safe_load(k8s_cluster.kubeconfig.read_text())
    admin["users"] = [{"name": "laptop", "user": {"token": token}}]
    admin["contexts"][0]["context"]["user"] = "laptop"
    kubeconfig = tmp_path / "token-kubeconfig.yaml"
    kubeconfig.write_text(yaml.safe_dump(admin))
    env = _laptop_env(kubeconfig, tmp_path)
    # no Role yet: the apiserver's reason reaches the user, and no login is started
    status = _quant(env, "auth", "status", "--k8s-secret", f"{ns}/{SECRET}")
    assert status.returncode == 1 and "HTTP 403" in status.stdout and "forbidden" in status.stdout
    login = _quant(env, "auth", "login", "--k8s-secret", f"{ns}/{SECRET}", "--timeout", "1")
    assert login.returncode == 1 and "login not started" in login.stdout
    assert "Open this URL" not in login.stdout
    _grant_secrets(k8s_cluster, ns, {"kind": "ServiceAccount", "name": "laptop", "namespace": ns})
    status = _quant(env, "auth", "status", "--k8s-secret", f"{ns}/{SECRET}")
    assert status.returncode == 1 and "no token stored" in status.stdout, status
