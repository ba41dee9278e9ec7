"""Fixtures of the operator tier: one real Kubernetes control plane per test session.

``k8s_cluster`` (session) builds or fetches the binaries on first use
(``scripts/k8s/build-control-plane.sh``, cached under ``$QUANT_CACHE_DIR/k8s``; its
progress lines go to the terminal through pytest's capture), starts
etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1
(:mod:`k8s_control_plane`), creates the fake node ``kwok-node-0``, loads the TradingDay
CRD from ``crds/tradingday.yaml`` and Strimzi's CRDs from ``../shared/strimzi-crds``, and
yields a :class:`K8sCluster` (an alias of :class:`k8s_control_plane.ControlPlane`):

- ``.kubeconfig: Path`` admin kubeconfig with a client certificate (kopf logs in with it)
- ``.server: str`` ``https://127.0.0.1:PORT``
- ``.kubectl(*args, input=None, check=True)`` / ``.helm(...)`` -> ``CompletedProcess[str]``
  (text; with ``check`` a non-zero exit raises ``KubectlError`` carrying stderr)
- ``.kubectl_path`` / ``.helm_path: Path`` the binaries (also ``KUBECTL`` / ``HELM`` env)
- ``.apply_objects([dict, ...])`` server-side apply; ``.wait_for(kind, name, condition)``
- ``.user_kubeconfig(user, groups)`` a client-cert kubeconfig for an RBAC identity
- ``.namespace(prefix)`` creates a fresh namespace and returns its name

``k8s_namespace`` (per test) is a fresh namespace, deleted afterwards.
Under ``CI=true`` a failed build or start fails the tests (``require``); locally it skips.

Every ``conftest.py`` outside a package is imported as the module ``conftest``, and pytest
drops the previous one from ``sys.modules`` first, so ``from conftest import require``
here would import this very file. This module therefore loads the root conftest's
``require`` by path and re-exports it: test modules collected after this conftest (here
and in later directories) still find ``require`` with ``from conftest import require``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from k8s_control_plane import ControlPlane, remove_tree
from k8s_tools import CRD_FILE, ToolError, all_binaries, strimzi_crd_dir


def _root_require() -> Callable[[bool, str], None]:
    path = Path(__file__).resolve().parent.parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("_quant_tests_root_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: Callable[[bool, str], None] = module.require
    return found


require = _root_require()

TRADINGDAY_CRD = "tradingdays.trading.quant-platform.io"
STRIMZI_CRDS = (
    "kafkas.kafka.strimzi.io",
    "kafkanodepools.kafka.strimzi.io",
    "kafkatopics.kafka.strimzi.io",
    "kafkausers.kafka.strimzi.io",
)


#: The type the ``k8s_cluster`` fixture yields (tests annotate with it).
K8sCluster = ControlPlane


def _load_crds(plane: ControlPlane) -> None:
    strimzi = strimzi_crd_dir()
    require(strimzi is not None, "Strimzi CRDs not found (../shared/strimzi-crds)")
    assert strimzi is not None
    files = [CRD_FILE, *sorted(strimzi.glob("*Crd-*.yaml"))]
    args = [a for f in files for a in ("-f", str(f))]
    plane.kubectl("apply", "--server-side", "--field-manager=quant-tests", *args)
    for crd in (TRADINGDAY_CRD, *STRIMZI_CRDS):
        plane.wait_for("crd", crd, "condition=Established")


def _to_terminal(config: pytest.Config) -> AbstractContextManager[None]:
    """Let output through pytest's capture (the build's progress lines)."""
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is None:
        return contextlib.nullcontext()
    disabled: AbstractContextManager[None] = capman.global_and_fixture_disabled()
    return disabled


@pytest.fixture(scope="session")
def k8s_cluster(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[K8sCluster]:
    try:
        # a first run builds the binaries for minutes: say so on the terminal, not silently
        with _to_terminal(request.config):
            binaries = all_binaries()
    except ToolError as e:
        require(False, f"Kubernetes binaries: {e}")
        raise
    root = tmp_path_factory.mktemp("k8s")
    plane = ControlPlane(root, binaries)
    try:
        plane.start()
    except Exception as e:
        require(False, f"control plane did not start: {e}")
        raise
    saved = {k: os.environ.get(k) for k in ("KUBECTL", "HELM")}
    os.environ["KUBECTL"] = str(binaries.kubectl)
    os.environ["HELM"] = str(binaries.helm)
    try:
        _load_crds(plane)
        yield plane
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        plane.stop()
        remove_tree(root)


@pytest.fixture
def k8s_namespace(k8s_cluster: K8sCluster) -> Iterator[str]:
    name = k8s_cluster.namespace()
    yield name
    k8s_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
