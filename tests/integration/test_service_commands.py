"""``quant ingestor`` and ``quant features`` as a user runs them, on real servers.

The documented sequence: ``quant sim`` (the market), ``quant sync-instruments`` into
PostgreSQL, then the two services as subprocesses on real Kafka, QuestDB and PostgreSQL.
Both load the instrument master from PostgreSQL, not by downloading it: their
``QUANT_UPSTOX__ASSETS_BASE`` points at a closed port. Checked: both turn ready on their
``/readyz``, export their metrics (``quant_native_info``, ``quant_service_up``), ticks
of the universe land in QuestDB's ``ticks`` with their features, and SIGTERM stops both
with exit code 0. Every service command (execution too) started without a reachable
Kafka says so in one line and exits 1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "quant.cli", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    token_file = tmp_path / "sim-token.json"
    proc = _start(
        ["sim", "--port", str(port), "--token-file", str(token_file)],
        dict(os.environ),
        tmp_path / "sim.log",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not token_file.exists() or not token_file.read_text().strip():
            assert proc.poll() is None, (tmp_path / "sim.log").read_text()
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.2)
        yield base, token_file
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _ready(port: int) -> tuple[int, Any]:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    except httpx.TransportError:
        return 0, None
    return r.status_code, r.json()


def test_ingestor_and_features_commands_run_on_the_synced_master(
    sim: tuple[str, Path],
    kafka_bootstrap: str,
    questdb: Any,
    fresh_postgres_dsn: str,
    tmp_path: Path,
) -> None:
    base, token_file = sim
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "QUANT_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "QUANT_POSTGRES__DSN": fresh_postgres_dsn,
        "QUANT_QUESTDB__HOST": questdb.host,
        "QUANT_QUESTDB__HTTP_PORT": str(questdb.http_port),
        "QUANT_QUESTDB__PG_PORT": str(questdb.pg_port),
        "QUANT_UPSTOX__API_BASE": base,
        "QUANT_UPSTOX__HFT_BASE": base,
        "QUANT_UPSTOX__TOKEN_FILE": str(token_file),
        "QUANT_UNIVERSE": '["RELIANCE","INFY"]',
        "QUANT_CONTROL_GROUP": f"ingestor-control-{tag}",
        "QUANT_GROUP_ID": f"features-{tag}",
        "QUANT_SNAPSHOT_PATH": str(tmp_path / "features.snap"),
        "QUANT_CHECKPOINT_INTERVAL_S": "1",
    }
    sync = subprocess.run(
        [sys.executable, "-m", "quant.cli", "sync-instruments"],
        env={**env, "QUANT_UPSTOX__ASSETS_BASE": base},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sync.returncode == 0, sync.stdout + sync.stderr

    # from here on a download of the master would fail: the services must use the store
    dead = f"http://127.0.0.1:{_free_port()}"
    env["QUANT_UPSTOX__ASSETS_BASE"] = dead
    ports = {"ingestor": _free_port(), "features": _free_port()}
    procs = {
        name: _start([name, "--metrics-port", str(port)], env, tmp_path / f"{name}.log")
        for name, port in ports.items()
    }
    started_ns = time.time_ns()
    try:
        deadline = time.monotonic() + 120
        status = {name: (0, None) for name in procs}
        while time.monotonic() < deadline:
            for name, proc in procs.items():
                assert proc.poll() is None, (tmp_path / f"{name}.log").read_text()
            status = {name: _ready(port) for name, port in ports.items()}
            if all(code == 200 for code, _ in status.values()):
                break
            time.sleep(0.5)
        assert all(code == 200 for code, _ in status.values()), status

        rows = 0
        sql = (
            "select count() from ticks where instrument_key in "  # noqa: S608 (our constants)
            "('NSE_EQ|INE002A01018','NSE_EQ|INE009A01021') "
            f"and ts_init >= {started_ns} and session_vwap is not null"
        )
        while time.monotonic() < deadline and rows == 0:
            try:
                result = questdb.http_query(sql)
                rows = int(result["dataset"][0][0])  # type: ignore[index]
            except Exception:  # the table may not exist yet
                rows = 0
            time.sleep(0.5)
        assert rows > 0, "no enriched tick of the universe reached QuestDB"

        for name, port in ports.items():
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            assert f'quant_service_up{{service="{name}"}} 1.0' in metrics
            assert 'quant_native_info{implementation="' in metrics
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {name: proc.wait(timeout=30) for name, proc in procs.items()}
        logs = {name: (tmp_path / f"{name}.log").read_text() for name in procs}
        print(logs)  # shown by pytest only when the test fails
    assert codes == {"ingestor": 0, "features": 0}, logs
    for name in procs:
        assert "instruments from the instrument store" in logs[name], logs[name]
        assert dead not in logs[name]


@pytest.mark.parametrize("command", ["ingestor", "features", "gateway", "execution", "scanner"])
def test_a_missing_kafka_is_one_clear_line_and_exit_code_1(command: str, tmp_path: Path) -> None:
    dead = f"127.0.0.1:{_free_port()}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QUANT_")},
        "QUANT_KAFKA__BOOTSTRAP_SERVERS": dead,
        "QUANT_METRICS_PORT": "0",
        "QUANT_SQLITE_PATH": str(tmp_path / "ticks.sqlite"),
        "QUANT_TICK_STORE": "sqlite" if command in ("features", "scanner") else "",
    }
    env = {k: v for k, v in env.items() if v}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "quant.cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert time.monotonic() - started < 30
    assert f"cannot start: DependencyUnavailable: Kafka is not reachable at {dead}" in output
    assert "quant dev infra up" in output
    assert "Traceback" not in output
    assert len(output.splitlines()) < 10, output
