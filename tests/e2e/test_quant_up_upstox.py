"""``quant up --source upstox`` as a user runs it, against a separately started simulator.

A ``quant sim --tls`` process plays Upstox (its own CA; TLS verification stays on, the
user names the CA file in ``QUANT_UPSTOX__CA_FILE``). The user points the Upstox base
URLs at it the way they would point them at Upstox, logs in with ``quant auth login``
(the token-request flow: the simulator pushes the token to the login's webhook), then
runs ``quant up --source upstox``: quotes flow and say ``"source": "upstox"``, the
banner names the source and the data directory. Without a token, and with a token the
server has revoked, ``quant up`` exits 1 at once with a message that says what to run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from e2e_kit import free_port, stretched

from quant.core.clock import IST
from quant.sim.config import default_start
from quant.upstox.config import make_ssl_context

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

QUANT = [sys.executable, "-m", "quant.cli"]


@dataclass(frozen=True)
class Upstox:
    """The simulator standing in for Upstox, and the settings a user sets to reach it."""

    base_url: str
    ca_file: Path
    webhook_port: int
    env: dict[str, str]


@pytest.fixture(name="upstox")
def upstox_fixture(tmp_path: Path) -> Iterator[Upstox]:
    port, webhook_port = free_port(), free_port()
    # the simulated market is open (09:16 IST of the next trading day) and its tokens
    # expire at the 03:30 IST after that, so a token it issues is valid now
    start = default_start(datetime.now(IST).date()) + timedelta(minutes=2)
    log_path = tmp_path / "sim.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            *QUANT,
            "sim",
            "--tls",
            "--port",
            str(port),
            "--start",
            start.isoformat(),
            "--notifier-url",
            f"http://127.0.0.1:{webhook_port}/upstox/notifier",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + stretched(20.0)
        ca_file = None
        while ca_file is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"TLS CA file (\S+)", log_path.read_text())
            ca_file = Path(found.group(1)) if found else None
            time.sleep(0.1)
        assert ca_file is not None, f"quant sim did not start:\n{log_path.read_text()}"
        base = f"https://127.0.0.1:{port}"
        env = {
            **os.environ,
            "QUANT_UPSTOX__API_BASE": base,
            "QUANT_UPSTOX__HFT_BASE": base,
            "QUANT_UPSTOX__ASSETS_BASE": base,
            "QUANT_UPSTOX__CA_FILE": str(ca_file),
            "QUANT_UPSTOX__CLIENT_ID": "sim-client",  # the simulator's registered app
            "QUANT_UPSTOX__CLIENT_SECRET": "sim-secret",
            "QUANT_UPSTOX__TOKEN_FILE": str(tmp_path / "upstox-token.json"),
            "QUANT_DATA_DIR": str(tmp_path / "data"),
            "QUANT_LOG_LEVEL": "INFO",
        }
        env.pop("QUANT_SOURCE", None)
        yield Upstox(base, ca_file, webhook_port, env)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _login(upstox: Upstox) -> str:
    """``quant auth login --flow request``; returns the stored access token."""
    done = subprocess.run(
        [*QUANT, "auth", "login", "--flow", "request", "--webhook-port", str(upstox.webhook_port)],
        env=upstox.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stored Upstox token for SIM001" in done.stdout
    token_file = Path(upstox.env["QUANT_UPSTOX__TOKEN_FILE"])
    assert token_file.stat().st_mode & 0o777 == 0o600
    token: str = json.loads(token_file.read_text())["access_token"]
    return token


def _up_refuses(upstox: Upstox, env: dict[str, str]) -> str:
    """``quant up --source upstox`` must exit 1 before serving; returns what it said."""
    port = free_port()
    done = subprocess.run(
        [*QUANT, "up", "--source", "upstox", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=stretched(30.0),
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    assert "quant-platform is up" not in output
    return done.stderr


def test_quant_up_on_upstox_serves_quotes_that_say_so(upstox: Upstox, tmp_path: Path) -> None:
    _login(upstox)
    port = free_port()
    log_path = tmp_path / "up.log"
    log = log_path.open("w")
    started = time.monotonic()
    proc = subprocess.Popen(
        [*QUANT, "up", "--source", "upstox", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=upstox.env,
    )
    budget = stretched(30.0)
    try:
        quote = None
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2.0) as http:
            while time.monotonic() - started < budget and proc.poll() is None:
                try:
                    r = http.get("/api/v1/market/quote/RELIANCE")
                except httpx.TransportError:
                    r = None
                if r is not None and r.status_code == 200:
                    quote = r.json()
                    break
                time.sleep(0.2)
            assert quote is not None, f"no quote within {budget:.0f} s:\n{log_path.read_text()}"
            assert quote["source"] == "upstox"
            assert quote["instrument_key"] == "NSE_EQ|INE002A01018"
            assert int(quote["last_price"].replace(".", "")) > 0
            nifty = http.get("/api/v1/market/quote/NIFTY 50").json()
            assert nifty["source"] == "upstox"
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=stretched(10.0))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    output = log_path.read_text()
    assert code == 0, output
    assert "Traceback" not in output
    assert f"  source: upstox ({upstox.base_url})" in output
    assert f"  data:   {tmp_path / 'data'}" in output
    assert "quotes from upstox" in output  # the gateway's log line
    assert f"market data from upstox ({upstox.base_url})" in output
    assert (tmp_path / "data" / "ticks.sqlite").exists()


def test_quant_up_on_upstox_without_a_token_says_to_log_in(upstox: Upstox, tmp_path: Path) -> None:
    env = {**upstox.env, "QUANT_UPSTOX__TOKEN_FILE": str(tmp_path / "no-such-token.json")}
    said = _up_refuses(upstox, env)
    assert f"no Upstox access token at {tmp_path / 'no-such-token.json'}" in said
    assert "quant auth login" in said


def test_quant_up_on_upstox_with_a_revoked_token_says_to_log_in(upstox: Upstox) -> None:
    token = _login(upstox)
    with httpx.Client(verify=make_ssl_context(upstox.ca_file)) as http:
        revoked = http.delete(
            f"{upstox.base_url}/v2/logout", headers={"Authorization": f"Bearer {token}"}
        )
        assert revoked.status_code == 200, revoked.text
    said = _up_refuses(upstox, upstox.env)
    assert "refused the token" in said
    assert "expired or revoked" in said
    assert "quant auth login" in said
    assert token not in said  # the secret is never printed
