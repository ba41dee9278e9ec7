"""quant.devinfra without servers: cache and state folders, JDK lookup, process control."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from quant.devinfra import fetch
from quant.devinfra.errors import InfraError
from quant.devinfra.infra import infra_dir, run
from quant.devinfra.kafka import _cluster_id
from quant.devinfra.process import ManagedProcess, free_port, port_open, wait_until


def test_cache_dir_is_under_home_unless_quant_cache_dir_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUANT_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert fetch.cache_dir() == tmp_path / "home" / ".cache" / "quant-platform"
    monkeypatch.setenv("QUANT_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert fetch.cache_dir() == tmp_path / "elsewhere"
    assert fetch.cache_dir().is_dir()


def test_fetch_without_maven_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUANT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(InfraError, match="install-system-deps"):
        fetch.questdb_jar()
    assert not (tmp_path / f"questdb-{fetch.QUESTDB_VERSION}").exists()


def test_java_lookup_finds_a_jdk_17_and_refuses_an_impossible_version() -> None:
    java = fetch.java(17)
    assert java.name == "java" and java.is_file()
    with pytest.raises(InfraError, match="Java 99"):
        fetch.java(99)


def test_kafka_cluster_id_looks_like_storage_tool_random_uuid() -> None:
    ids = {_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) and not i.startswith("-") for i in ids)


def test_infra_dir_is_the_override_or_dot_quant_in_the_enclosing_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "sub" / "deeper").mkdir(parents=True)
    monkeypatch.delenv("QUANT_INFRA_DIR", raising=False)
    monkeypatch.chdir(tmp_path / "repo" / "sub" / "deeper")
    assert infra_dir() == (tmp_path / "repo" / ".quant" / "infra").resolve()
    monkeypatch.setenv("QUANT_INFRA_DIR", str(tmp_path / "mine"))
    assert infra_dir() == (tmp_path / "mine").resolve()


def test_status_without_recorded_servers_exits_non_zero(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run("status", tmp_path / "none", out) == 1
    assert "quant dev infra up" in out.getvalue()
    with pytest.raises(InfraError):
        run("restart", tmp_path / "none")


def test_free_port_is_free_and_port_open_sees_a_listener() -> None:
    port = free_port()
    assert not port_open(port)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert port_open(port)


def _sleeper(tmp_path: Path, marker: str, *, trap_term: bool = False) -> ManagedProcess:
    proc = ManagedProcess("sleeper", log_path=tmp_path / "sleeper.log", marker=marker)
    script = (
        "import signal, sys, time\n"
        + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if trap_term else "")
        + "print('sleeping', flush=True)\n"
        + "time.sleep(120)\n"
    )
    proc.launch([sys.executable, "-c", script, marker], die_with_parent=True)
    wait_until("sleeper", lambda: "sleeping" in proc.log_tail(), 30, proc.alive)
    return proc


def test_managed_process_logs_stops_politely_and_forgets_its_pid(tmp_path: Path) -> None:
    proc = _sleeper(tmp_path, "marker-polite")
    assert proc.alive() and proc.pid is not None
    assert proc.log_tail().strip() == "sleeping"
    with pytest.raises(InfraError, match="already running"):
        proc.launch(["true"], die_with_parent=False)
    proc.stop(timeout=10)
    assert not proc.alive() and proc.pid is None


def test_managed_process_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    proc = _sleeper(tmp_path, "marker-stubborn", trap_term=True)
    proc.stop(timeout=0.5)
    assert not proc.alive()


def test_adopting_a_pid_only_takes_a_process_with_our_marker(tmp_path: Path) -> None:
    proc = _sleeper(tmp_path, "marker-adopt")
    assert proc.pid is not None
    stranger = ManagedProcess("stranger", log_path=tmp_path / "x.log", marker="someone-else")
    assert not stranger.adopt(proc.pid)
    owner = ManagedProcess(
        "owner", log_path=tmp_path / "y.log", marker="marker-adopt", stop_signal=signal.SIGTERM
    )
    assert owner.adopt(proc.pid)
    owner.kill()
    assert proc.exit_code() == -signal.SIGKILL
    assert not owner.alive()


def test_wait_until_reports_a_dead_process_and_a_timeout() -> None:
    with pytest.raises(InfraError, match="exited"):
        wait_until("dead", lambda: False, 5, lambda: False)
    with pytest.raises(InfraError, match="not ready"):
        wait_until("slow", lambda: False, 0.2, lambda: True)


_NEEDS_KAFKA = """
def test_needs_kafka(kafka_bootstrap):
    assert kafka_bootstrap
"""


# pytest reports a fixture's failure as an error of the test: the run fails either way
@pytest.mark.slow
@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_a_server_that_cannot_start_fails_the_test_in_ci_and_skips_it_locally(
    tmp_path: Path, ci: str, outcome: str
) -> None:
    shutil.copy(Path(__file__).resolve().parents[1] / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_needs_kafka.py").write_text(_NEEDS_KAFKA)
    env = {
        **os.environ,
        "CI": ci,
        "PATH": str(tmp_path / "no-tools"),  # no mvn: the jars cannot be fetched
        "QUANT_CACHE_DIR": str(tmp_path / "empty-cache"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfs", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert outcome in done.stdout, done.stdout + done.stderr
    assert done.returncode == (1 if ci else 0)
    assert "kafka server" in done.stdout and "mvn not found" in done.stdout
    if ci:
        assert "required in CI" in done.stdout


def test_kafka_jvm_flags_dev_default_and_production(tmp_path: Path) -> None:
    from quant.devinfra.kafka import KafkaServer

    dev = KafkaServer(tmp_path / "dev")
    prod = KafkaServer(tmp_path / "prod", production_jvm=True)
    for server in (dev, prod):  # what prepare() would find (no fetch, no format here)
        server._java, server._libs = Path("/usr/bin/java"), tmp_path
    dev_cmd, prod_cmd = dev.command(), prod.command()
    assert "-XX:TieredStopAtLevel=1" in dev_cmd and "-XX:+UseSerialGC" in dev_cmd
    assert "-XX:TieredStopAtLevel=1" not in prod_cmd and "-XX:+UseG1GC" in prod_cmd
    assert prod_cmd[-2] == dev_cmd[-2] == "kafka.Kafka"


def test_questdb_worker_pools_take_half_the_cores() -> None:
    from quant.devinfra.questdb import shared_workers

    assert [shared_workers(n) for n in (1, 2, 3, 4, 16)] == [1, 1, 1, 2, 8]
