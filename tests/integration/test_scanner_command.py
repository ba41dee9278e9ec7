"""``quant scanner`` and ``quant scanner --once`` as a user runs them, on real servers
(``integration``): ``quant sim`` is the market, ``quant sync-instruments`` fills
PostgreSQL, the tick store is QuestDB.

The service turns ready, exports its metrics (the candidates of ``NSE_EQ`` in the master)
and stops on SIGTERM with exit code 0; ``--once`` over ten names fills their history from
the simulator, prints the ranked table and exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_service_commands import _free_port, _ready, _start, sim  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NAMES = [
    "RELIANCE",
    "INFY",
    "TCS",
    "HDFCBANK",
    "ICICIBANK",
    "SBIN",
    "ITC",
    "LT",
    "AXISBANK",
    "ONGC",
]


def test_the_scanner_command_and_once_run_on_the_synced_master(
    sim: tuple[str, Path],  # noqa: F811 - the fixture
    kafka_bootstrap: str,
    questdb: Any,
    fresh_postgres_dsn: str,
    tmp_path: Path,
) -> None:
    base, token_file = sim
    env = {
        **os.environ,
        "QUANT_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "QUANT_POSTGRES__DSN": fresh_postgres_dsn,
        "QUANT_QUESTDB__HOST": questdb.host,
        "QUANT_QUESTDB__HTTP_PORT": str(questdb.http_port),
        "QUANT_QUESTDB__PG_PORT": str(questdb.pg_port),
        "QUANT_UPSTOX__API_BASE": base,
        "QUANT_UPSTOX__HFT_BASE": base,
        "QUANT_UPSTOX__ASSETS_BASE": base,
        "QUANT_UPSTOX__TOKEN_FILE": str(token_file),
    }
    sync = subprocess.run(
        [sys.executable, "-m", "quant.cli", "sync-instruments"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sync.returncode == 0, sync.stdout + sync.stderr

    once = subprocess.run(
        [sys.executable, "-m", "quant.cli", "scanner", "--once"],
        env={
            **env,
            "QUANT_SCANNER__UNIVERSE": json.dumps(NAMES),
            "QUANT_SCANNER__VOLUME_DAYS": "2",
            "QUANT_SCANNER__TOP_N": "5",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert once.returncode == 0, once.stdout + once.stderr
    lines = once.stdout.splitlines()
    assert lines[0].startswith("scanner picks at "), once.stdout + once.stderr
    assert "of 10 names (10 quoted)" in lines[0], once.stdout
    assert lines[1].split()[:4] == ["#", "SYMBOL", "SCORE", "LAST"]
    assert len(lines) == 2 + 5
    assert {line.split()[1] for line in lines[2:]} <= set(NAMES)

    port = _free_port()
    proc = _start(["scanner", "--metrics-port", str(port)], env, tmp_path / "scanner.log")
    try:
        deadline = time.monotonic() + 120
        code = 0
        while time.monotonic() < deadline and code != 200:
            assert proc.poll() is None, (tmp_path / "scanner.log").read_text()
            code, _ = _ready(port)
            time.sleep(0.5)
        assert code == 200, (tmp_path / "scanner.log").read_text()
        metrics = ""
        while time.monotonic() < deadline and "quant_scanner_candidates 0.0" in (
            metrics or "quant_scanner_candidates 0.0"
        ):
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            time.sleep(0.5)
        assert 'quant_service_up{service="scanner"} 1.0' in metrics
        assert "quant_scanner_candidates 350.0" in metrics, metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    log = (tmp_path / "scanner.log").read_text()
    assert code == 0, log
    assert "instruments from the instrument store" in log
    assert "Traceback" not in log, log
