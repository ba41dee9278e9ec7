"""How to reach the Kubernetes API: the pod's service account, or the user's kubeconfig.

Used by :class:`~quant.upstox.k8s_secret.KubernetesSecretTokenStore`, so that
``quant auth login --k8s-secret NS/NAME`` works inside a pod (service account) and from a
laptop (``$KUBECONFIG``, else ``~/.kube/config``, the current context) alike.

Supported kubeconfig credentials: a bearer ``token`` or ``tokenFile``, a client
certificate (``client-certificate[-data]`` + ``client-key[-data]``), and an ``exec``
credential plugin (``client.authentication.k8s.io`` ExecCredential: the plugin's token or
client certificate, as the cloud providers' CLIs print them). The server's certificate is
always verified (``certificate-authority[-data]``, else the system roots);
``insecure-skip-tls-verify`` and ``auth-provider`` are refused with a message saying so.
Credentials are never logged.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
EXEC_TIMEOUT_S = 60.0


class KubeConfigError(ValueError):
    """No usable way to reach the Kubernetes API; the message says what to fix."""


@dataclass(frozen=True)
class KubeAccess:
    """The API server's URL, a TLS context that verifies it (and carries any client
    certificate), and the request headers (a bearer token, if any)."""

    server: str
    tls: ssl.SSLContext
    headers: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def describe(self) -> str:
        """Where the credentials came from and the server, never the credentials."""
        return f"{self.server} ({self.source})"


def default_kubeconfig_path(env: Mapping[str, str] | None = None) -> Path:
    """``$KUBECONFIG``'s first existing file (it may list several), else ``~/.kube/config``."""
    env = os.environ if env is None else env
    listed = [Path(p).expanduser() for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    for path in listed:
        if path.is_file():
            return path
    return listed[0] if listed else Path.home() / ".kube" / "config"


def in_cluster_access(sa_dir: Path = SA_DIR, server: str = IN_CLUSTER_SERVER) -> KubeAccess:
    """The pod's service account: its token and the cluster CA it mounts."""
    token = (sa_dir / "token").read_text(encoding="utf-8").strip()
    tls = ssl.create_default_context()
    ca = sa_dir / "ca.crt"
    if ca.exists():
        tls.load_verify_locations(cafile=str(ca))
    return KubeAccess(
        server.rstrip("/"), tls, {"Authorization": f"Bearer {token}"}, "service account"
    )


def load_kube_access(
    *,
    sa_dir: Path = SA_DIR,
    kubeconfig: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> KubeAccess:
    """The service account inside a pod, else the kubeconfig (``kubeconfig`` argument,
    ``$KUBECONFIG``, ``~/.kube/config``); :class:`KubeConfigError` if neither is there."""
    env = os.environ if env is None else env
    if kubeconfig is None and env.get("KUBERNETES_SERVICE_HOST") and (sa_dir / "token").is_file():
        return in_cluster_access(sa_dir)
    path = kubeconfig or default_kubeconfig_path(env)
    if not path.is_file():
        raise KubeConfigError(
            f"no Kubernetes credentials: not in a pod and no kubeconfig at {path} "
            "(set KUBECONFIG or write ~/.kube/config, e.g. with your cluster's CLI)"
        )
    return access_from_kubeconfig(path, env=env)


def access_from_kubeconfig(
    path: Path, *, context: str | None = None, env: Mapping[str, str] | None = None
) -> KubeAccess:
    """The server and credentials of ``context`` (default: the current context) in ``path``."""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise KubeConfigError(f"cannot read kubeconfig {path}: {e}") from e
    if not isinstance(config, dict):
        raise KubeConfigError(f"kubeconfig {path} is not a YAML mapping")
    name = context or config.get("current-context")
    if not name:
        raise KubeConfigError(f"kubeconfig {path} has no current-context")
    ctx = _named(config, "contexts", "context", name, path)
    cluster = _named(config, "clusters", "cluster", ctx.get("cluster"), path)
    user = _named(config, "users", "user", ctx.get("user"), path) if ctx.get("user") else {}
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise KubeConfigError(
            f"kubeconfig {path}: cluster {ctx.get('cluster')!r} needs an https server"
        )
    if cluster.get("insecure-skip-tls-verify"):
        raise KubeConfigError(
            f"kubeconfig {path}: insecure-skip-tls-verify is not supported; "
            "give the cluster's certificate-authority instead"
        )
    base = path.parent
    tls = ssl.create_default_context()
    ca_data, ca_file = (
        cluster.get("certificate-authority-data"),
        cluster.get("certificate-authority"),
    )
    if ca_data:
        tls.load_verify_locations(cadata=_pem(ca_data).decode())
    elif ca_file:
        tls.load_verify_locations(cafile=str(_relative(base, ca_file)))
    headers = _user_credentials(user, tls, base, name, path, env)
    return KubeAccess(server.rstrip("/"), tls, headers, f"kubeconfig {path}, context {name}")


def _named(config: dict[str, Any], section: str, key: str, name: Any, path: Path) -> dict[str, Any]:
    for entry in config.get(section) or ():
        if isinstance(entry, dict) and entry.get("name") == name:
            found = entry.get(key) or {}
            if isinstance(found, dict):
                return found
    raise KubeConfigError(f"kubeconfig {path}: no {key} named {name!r} in {section}")


def _relative(base: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else base / path


def _pem(data: str) -> bytes:
    """kubeconfig ``*-data`` fields are base64 of PEM (ExecCredential gives PEM itself)."""
    raw = data.encode()
    return raw if raw.lstrip().startswith(b"-----") else base64.b64decode(raw)


def _user_credentials(
    user: dict[str, Any],
    tls: ssl.SSLContext,
    base: Path,
    context: str,
    path: Path,
    env: Mapping[str, str] | None,
) -> dict[str, str]:
    if user.get("auth-provider"):
        raise KubeConfigError(
            f"kubeconfig {path}, context {context}: auth-provider plugins are not supported; "
            "use a token, a client certificate or an exec plugin"
        )
    cert_pem, key_pem = _client_cert(user, base)
    token: str | None = user.get("token")
    if not token and user.get("tokenFile"):
        token = _relative(base, user["tokenFile"]).read_text(encoding="utf-8").strip()
    if not token and not cert_pem and isinstance(user.get("exec"), dict):
        token, cert_pem, key_pem = _run_exec(user["exec"], context, path, env)
    if cert_pem and key_pem:
        _load_cert_chain(tls, cert_pem, key_pem)
    if token:
        return {"Authorization": f"Bearer {token}"}
    if not cert_pem:
        raise KubeConfigError(
            f"kubeconfig {path}, context {context}: the user has no token, client "
            "certificate or exec plugin"
        )
    return {}


def _client_cert(user: dict[str, Any], base: Path) -> tuple[bytes | None, bytes | None]:
    def read(data_key: str, file_key: str) -> bytes | None:
        if user.get(data_key):
            return _pem(user[data_key])
        if user.get(file_key):
            return _relative(base, user[file_key]).read_bytes()
        return None

    return read("client-certificate-data", "client-certificate"), read(
        "client-key-data", "client-key"
    )


def _load_cert_chain(tls: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    # ssl loads a chain only from files: write them to a private dir, then remove it.
    with tempfile.TemporaryDirectory(prefix="quant-kube-") as tmp:
        cert_file, key_file = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
        cert_file.write_bytes(cert_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(key_pem)
        tls.load_cert_chain(str(cert_file), str(key_file))


def _run_exec(
    spec: dict[str, Any], context: str, path: Path, env: Mapping[str, str] | None
) -> tuple[str | None, bytes | None, bytes | None]:
    """Run an exec credential plugin; its ExecCredential's token or client certificate."""
    command = spec.get("command")
    if not isinstance(command, str) or not command:
        raise KubeConfigError(f"kubeconfig {path}, context {context}: exec has no command")
    argv = [command, *(str(a) for a in spec.get("args") or ())]
    run_env = dict(os.environ if env is None else env)
    for item in spec.get("env") or ():
        run_env[str(item["name"])] = str(item["value"])
    request = {
        "apiVersion": spec.get("apiVersion", "client.authentication.k8s.io/v1"),
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }
    run_env["KUBERNETES_EXEC_INFO"] = json.dumps(request)
    try:
        done = subprocess.run(
            argv,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=EXEC_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise KubeConfigError(f"kubeconfig {path}: exec plugin {command!r} failed: {e}") from e
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no message"]
        raise KubeConfigError(
            f"kubeconfig {path}: exec plugin {command!r} exited {done.returncode}: {tail[0]}"
        )
    try:
        status = json.loads(done.stdout).get("status") or {}
    except (ValueError, AttributeError) as e:
        raise KubeConfigError(
            f"kubeconfig {path}: exec plugin {command!r} did not print an ExecCredential"
        ) from e
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    return (
        status.get("token") or None,
        cert.encode() if cert else None,
        key.encode() if key else None,
    )
