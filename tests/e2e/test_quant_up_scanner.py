"""``quant up`` runs the scanner on the simulator's market: picks with reasons appear on
``GET /api/v1/scanner/suggestions`` within one cycle, and the ingestor subscribes them.

The simulator runs 10x (a 5-minute cycle every 30 s of wall time) from 09:16: the start of
the day fills the daily history of every NSE equity of its master through the rate-limited
client, the 09:20 cycle ranks them. Then a pick outside ``quant up``'s own universe gets
quotes (the ingestor subscribed it in full mode on ``scanner.suggestions``) and the
ingestor's full-mode subscription count has grown.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_kit import free_port, stretched

from quant.analytics.scanner_signals import SIGNAL_NAMES
from quant.up.settings import DEFAULT_UNIVERSE

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SPEED = 10.0
CYCLE_WALL_S = 300 / SPEED


def _wait(what: str, check: Callable[[], Any], budget: float, proc: Any, log: Path) -> Any:
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"quant up exited:\n{log.read_text()}"
        try:
            found = check()
        except httpx.TransportError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {budget:.0f} s:\n{log.read_text()[-6000:]}")


def _full_subscriptions(metrics: str) -> float:
    m = re.search(r'^ingestor_subscribed_instruments\{mode="full"\} (\S+)$', metrics, re.M)
    return float(m.group(1)) if m else 0.0


def test_picks_with_reasons_appear_within_one_cycle_and_the_ingestor_subscribes_them(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "QUANT_DATA_DIR": str(tmp_path),
        "QUANT_LOG_LEVEL": "INFO",
        "QUANT_SIM_SPEED": str(SPEED),
    }
    log = tmp_path / "up.log"
    with log.open("w") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "quant.cli", "up", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:
                _wait(
                    "RELIANCE quote",
                    lambda: http.get("/api/v1/market/quote/RELIANCE").status_code == 200,
                    stretched(60.0),
                    proc,
                    log,
                )
                key = (tmp_path / "admin.key").read_text().strip()
                auth = {"Authorization": f"Bearer {key}"}
                before = _full_subscriptions(http.get("/metrics").text)

                def picks() -> dict[str, Any] | None:
                    r = http.get("/api/v1/scanner/suggestions", headers=auth)
                    body: dict[str, Any] = r.json() if r.status_code == 200 else {}
                    return body if body.get("suggestions") else None

                # 09:16 -> the 09:20 cycle is 24 s away; one more cycle of slack
                body = _wait("scanner picks", picks, stretched(24 + 2 * CYCLE_WALL_S), proc, log)
                took = time.monotonic() - started
                got = body["suggestions"]
                assert body["ts"], body
                assert [p["rank"] for p in got] == list(range(1, len(got) + 1))
                assert len(got) == 20, got
                assert all(p["instrument_key"].startswith("NSE_EQ|") for p in got)
                assert set(got[0]["signals"]) == set(SIGNAL_NAMES)
                assert all(p["reasons"] for p in got[:5]), got[:5]
                print(f"first picks after {took:.1f} s: {[p['trading_symbol'] for p in got[:5]]}")

                # the ingestor subscribes the picks: one outside quant up's universe quotes
                outside = [p for p in got if p["trading_symbol"] not in DEFAULT_UNIVERSE]
                assert outside, got
                symbol = outside[0]["trading_symbol"]

                def quoted() -> bool:
                    return http.get(f"/api/v1/market/quote/{symbol}").status_code == 200

                _wait(f"a quote of the pick {symbol}", quoted, stretched(20.0), proc, log)
                after = _full_subscriptions(http.get("/metrics").text)
                assert after >= before + len(outside), (before, after, len(outside))
                assert "quant_scanner_cycles_total" in http.get("/metrics").text
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    output = log.read_text()
    assert "scanner: 2" in output and "picks of" in output
    assert "Traceback" not in output, output[-6000:]
