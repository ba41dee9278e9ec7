"""The control-plane build says what it is doing instead of running silently for minutes.

``k8s_tools`` relays the build script's progress lines to stderr (the operator tier's
fixture lets them through pytest's capture) and keeps quiet about cached binaries.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import k8s_tools


def _fake_script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "build.sh"
    script.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + body)
    return script


def test_progress_lines_reach_stderr_and_cached_ones_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "helm").write_text("")
    script = _fake_script(
        tmp_path,
        'echo "[build-control-plane 10:00:00] kubectl + helm cached" >&2\n'
        'echo "[build-control-plane 10:00:01] building kube-apiserver (~5-15 min)" >&2\n'
        'echo "go: downloading k8s.io/api v0.36.3" >&2\n'
        f'echo "{bin_dir}"\n',
    )
    monkeypatch.setattr(k8s_tools, "BUILD_SCRIPT", script)
    found = k8s_tools._run_build(("tools",), ("helm",))
    assert found.bin_dir == bin_dir
    err = capsys.readouterr().err
    assert "building kube-apiserver (~5-15 min)" in err
    assert "cached" not in err and "go: downloading" not in err


def test_a_failed_build_carries_its_log_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _fake_script(tmp_path, 'echo "go: module k8s.io/x: not found" >&2\nexit 3\n')
    monkeypatch.setattr(k8s_tools, "BUILD_SCRIPT", script)
    with pytest.raises(k8s_tools.ToolError, match=r"failed \(3\):\ngo: module k8s.io/x: not found"):
        k8s_tools._run_build(("tools",), ("helm",))
