"""Render the Helm chart with ``helm template`` and hand the objects to the chart tests.

Used by ``tests/unit/test_chart_*.py``. helm comes from ``k8s_tools.helm_tools()`` (a
cached download); under ``CI=true`` a missing helm fails the tests via ``require``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from conftest import require
from k8s_tools import CHART_DIR, ToolError, helm_tools

Obj = dict[str, Any]
RELEASE = "qp"
NAMESPACE = "trading"


def helm() -> Path:
    try:
        return helm_tools().helm
    except ToolError as e:
        require(False, f"helm: {e}")
        raise


def helm_run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [str(helm()), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def render(
    home: Path, values: Mapping[str, str] | None = None, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``helm template`` of the chart with ``--set key=value`` for each of ``values``."""
    sets = [a for k, v in (values or {}).items() for a in ("--set", f"{k}={v}")]
    return helm_run(
        "template", RELEASE, str(CHART_DIR), "--namespace", NAMESPACE, *sets, *extra, home=home
    )


def render_objects(home: Path, values: Mapping[str, str] | None = None, *extra: str) -> list[Obj]:
    done = render(home, values, *extra)
    assert done.returncode == 0, done.stderr
    return [o for o in yaml.safe_load_all(done.stdout) if o]


def by_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def pod_specs(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    """(``Kind/name``, pod spec) of every workload object."""
    for o in objects:
        if o["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            yield f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"]
