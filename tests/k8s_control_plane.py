"""A real Kubernetes control plane as local processes on 127.0.0.1, for tests.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the kwok controller
(which plays every kubelet: nodes turn Ready, pods Running, Job pods Succeeded) run from
the binaries of ``scripts/k8s/build-control-plane.sh``. The layout and flags follow what
``kwokctl create cluster --runtime=binary`` runs, except that everything binds to
loopback and the PKI has a separate serving certificate.

``tests/operator/conftest.py`` starts one per test session (``k8s_cluster`` fixture). The
admin kubeconfig authenticates with a client certificate (group ``system:masters``);
:meth:`ControlPlane.user_kubeconfig` issues one for any user/groups so RBAC can be tested.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from k8s_pki import Pki, issue_client_cert, make_pki
from k8s_tools import Binaries
from quant.devinfra.process import ManagedProcess, free_port, wait_until

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 120.0
KUBECTL_TIMEOUT_S = 120.0
NODE_NAME = "kwok-node-0"

# kwok fakes this node: it turns Ready, and pods bound to it run (and Job pods finish).
FAKE_NODE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {
        "name": NODE_NAME,
        "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
        "labels": {
            "type": "kwok",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/os": "linux",
            "kubernetes.io/hostname": NODE_NAME,
            "kubernetes.io/role": "agent",
            "node-role.kubernetes.io/agent": "",
        },
    },
    "spec": {},
    "status": {
        "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "250"},
        "capacity": {"cpu": "64", "memory": "256Gi", "pods": "250"},
        "nodeInfo": {
            "architecture": "amd64",
            "kubeletVersion": "fake",
            "kubeProxyVersion": "fake",
            "operatingSystem": "linux",
        },
        "phase": "Running",
    },
}


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


class ControlPlane:
    """The processes, PKI and kubeconfigs of one test cluster under ``root``."""

    def __init__(self, root: Path, binaries: Binaries) -> None:
        self.root = root
        self.bins = binaries
        self.pki: Pki | None = None
        names = ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok")
        ports: set[int] = set()
        while len(ports) < len(names):
            ports.add(free_port())
        self.ports = dict(zip(names, sorted(ports), strict=True))
        self.server = f"https://127.0.0.1:{self.ports['apiserver']}"
        self.kubeconfig = root / "kubeconfig.yaml"
        self.processes: list[ManagedProcess] = []

    # --- kubeconfigs ------------------------------------------------------------------

    def user_kubeconfig(self, user: str, groups: Sequence[str] = ()) -> Path:
        """Write a client-certificate kubeconfig for ``user`` in ``groups``; return it."""
        assert self.pki is not None, "start() first"
        cert, key = issue_client_cert(self.pki, self.root / "pki", user, tuple(groups))
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "quant-test",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": _b64(self.pki.ca_cert),
                    },
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate-data": _b64(cert),
                        "client-key-data": _b64(key),
                    },
                }
            ],
            "contexts": [
                {
                    "name": f"{user}@quant-test",
                    "context": {"cluster": "quant-test", "user": user, "namespace": "default"},
                }
            ],
            "current-context": f"{user}@quant-test",
        }
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in user)
        path = self.root / ("kubeconfig.yaml" if user == "admin" else f"kubeconfig-{safe}.yaml")
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    # --- processes ----------------------------------------------------------------------

    def _launch(self, name: str, argv: list[str]) -> ManagedProcess:
        proc = ManagedProcess(
            name, log_path=self.root / "logs" / f"{name}.log", marker=str(self.root), cwd=self.root
        )
        proc.launch(argv, die_with_parent=True)
        self.processes.append(proc)
        return proc

    def _etcd(self) -> None:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        proc = self._launch(
            "etcd",
            [
                str(self.bins.path("etcd")),
                "--name=node0",
                f"--data-dir={self.root / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=node0={peer}",
                "--auto-compaction-retention=1",
                "--quota-backend-bytes=2147483648",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )
        wait_until("etcd", lambda: self._http_ok(f"{client}/health"), READY_TIMEOUT_S, proc.alive)

    def _apiserver(self) -> None:
        assert self.pki is not None
        pki = self.pki
        proc = self._launch(
            "kube-apiserver",
            [
                str(self.bins.path("kube-apiserver")),
                f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
                "--etcd-prefix=/registry",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.ports['apiserver']}",
                "--allow-privileged=true",
                "--authorization-mode=Node,RBAC",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
        )
        wait_until(
            "kube-apiserver",
            lambda: self.kubectl("get", "--raw=/readyz", check=False, timeout=10).returncode == 0,
            READY_TIMEOUT_S,
            proc.alive,
        )

    def _controllers(self) -> None:
        assert self.pki is not None
        kc = str(self.kubeconfig)
        common = [
            f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1",
            "--leader-elect=false",
            "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
        ]
        self._launch(
            "kube-controller-manager",
            [
                str(self.bins.path("kube-controller-manager")),
                *common,
                f"--secure-port={self.ports['controller-manager']}",
                f"--root-ca-file={self.pki.ca_cert}",
                f"--service-account-private-key-file={self.pki.sa_key}",
                "--use-service-account-credentials=false",
                "--node-monitor-period=25s",
                "--node-monitor-grace-period=3m20s",
                "--concurrent-job-syncs=5",
            ],
        )
        self._launch(
            "kube-scheduler",
            [
                str(self.bins.path("kube-scheduler")),
                *common,
                f"--secure-port={self.ports['scheduler']}",
            ],
        )
        self._launch(
            "kwok",
            [
                str(self.bins.path("kwok")),
                f"--kubeconfig={kc}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--server-address=127.0.0.1:{self.ports['kwok']}",
                "--node-ip=127.0.0.1",
                "--node-name=localhost",
                f"--node-port={self.ports['kwok']}",
                "--node-lease-duration-seconds=200",
                f"--config={self.bins.kwok_stages}",
            ],
        )

    @staticmethod
    def _http_ok(url: str) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback http
                return bool(resp.status == 200)
        except OSError:
            return False

    def start(self) -> None:
        """Start every component, write the admin kubeconfig and create the fake node."""
        self.root.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.pki = make_pki(self.root / "pki")
        self.user_kubeconfig("admin", ("system:masters",))
        try:
            self._etcd()
            self._apiserver()
            self._controllers()
            self.apply_objects([FAKE_NODE])
            self.wait_for("node", NODE_NAME, "condition=Ready")
            self._wait_default_service_account()
        except BaseException:
            self.dump_logs()
            self.stop()
            raise
        for proc in self.processes:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.log_tail()}")
        log.info("control plane ready at %s in %.1fs", self.server, time.monotonic() - started)

    def _wait_default_service_account(self) -> None:
        def ready() -> bool:
            return self.kubectl("get", "serviceaccount", "default", check=False).returncode == 0

        wait_until("default ServiceAccount", ready, READY_TIMEOUT_S, lambda: True)

    def dump_logs(self, lines: int = 40) -> str:
        text = "\n".join(f"--- {p.name}\n{p.log_tail(lines)}" for p in self.processes)
        log.error("control plane logs:\n%s", text)
        return text

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop(timeout=10)
        self.processes.clear()

    @property
    def kubectl_path(self) -> Path:
        return self.bins.kubectl

    @property
    def helm_path(self) -> Path:
        return self.bins.helm

    def namespace(self, prefix: str = "t") -> str:
        """Create a fresh namespace ``<prefix>-<random>`` and return its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.kubectl("create", "namespace", name)
        return name

    # --- clients ------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        helm_home = self.root / "helm"
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CACHE_HOME": str(helm_home / "cache"),
            "HELM_CONFIG_HOME": str(helm_home / "config"),
            "HELM_DATA_HOME": str(helm_home / "data"),
        }

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = KUBECTL_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster as admin; ``check`` raises on failure."""
        return _run([str(self.bins.kubectl), *args], self._env(), input, check, timeout)

    def helm(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = KUBECTL_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        """Run helm against this cluster as admin; ``check`` raises on failure."""
        return _run([str(self.bins.helm), *args], self._env(), input, check, timeout)

    def apply_objects(self, objects: Sequence[dict[str, Any]], *extra: str) -> None:
        """Server-side apply ``objects`` (as the field manager ``quant-tests``)."""
        text = yaml.safe_dump_all(list(objects))
        self.kubectl(
            "apply", "--server-side", "--field-manager=quant-tests", "-f", "-", *extra, input=text
        )

    def wait_for(
        self, kind: str, name: str, condition: str, namespace: str | None = None, timeout: int = 60
    ) -> None:
        """``kubectl wait --for=<condition>`` on one object.

        An object created a moment ago may have no ``status.conditions`` yet, and kubectl
        then fails at once ("accessor error: <nil>") instead of waiting: ask again until
        ``timeout``.
        """
        ns = ["-n", namespace] if namespace else []
        deadline = time.monotonic() + timeout
        while True:
            left = max(1, round(deadline - time.monotonic()))
            done = self.kubectl(
                "wait", *ns, f"--for={condition}", f"--timeout={left}s", kind, name,
                timeout=left + 10, check=False,
            )  # fmt: skip
            if done.returncode == 0:
                return
            if "accessor error" not in done.stderr or time.monotonic() >= deadline:
                raise KubectlError(done)
            time.sleep(0.2)


class KubectlError(RuntimeError):
    """kubectl or helm failed; the message has the command and its stderr."""

    def __init__(self, result: subprocess.CompletedProcess[str]) -> None:
        self.result = result
        super().__init__(
            f"{' '.join(result.args[:4])} ... exited {result.returncode}: {result.stderr.strip()}"
        )


def _run(
    argv: list[str],
    env: dict[str, str],
    input: str | None,
    check: bool,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, env=env, input=input, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise KubectlError(result)
    return result


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
