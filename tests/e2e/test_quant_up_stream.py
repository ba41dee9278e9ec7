"""``quant up``'s WebSocket stream as a client meets it.

Starts ``quant up`` (simulated market, paper broker), connects to ``/api/v1/stream`` with
the admin key, subscribes to RELIANCE's quotes and to the account's orders, fills and
positions; quotes arrive as the simulator ticks; a MARKET order posted on the REST API
then shows on the stream as order events up to FILLED, its fills adding up to the
quantity, and a positions message holding it. A client without a key is refused the
orders channel in words. SIGINT stops everything with exit code 0.
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
from e2e_kit import free_port, stretched
from websockets.sync.client import ClientConnection, connect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _wait_http(http: httpx.Client, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + stretched(60)
    while True:
        assert proc.poll() is None, f"quant up exited:\n{log.read_text()}"
        try:
            if http.get("/api/v1/market/quote/RELIANCE").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"no RELIANCE quote in time:\n{log.read_text()}"
        time.sleep(0.3)


def _messages(ws: ClientConnection, budget_s: float) -> Any:
    """Data messages as they come, until the budget is spent."""
    deadline = time.monotonic() + stretched(budget_s)
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            return
        if message["type"] == "error":
            raise AssertionError(f"stream error: {message}")
        if message["type"] == "data":
            yield message


def test_the_stream_delivers_quotes_and_the_accounts_order_fill_and_position(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    log = tmp_path / "up.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANT_")}
    env["QUANT_DATA_DIR"] = str(data)
    url = f"ws://127.0.0.1:{port}/api/v1/stream"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quant.cli", "up", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:
                _wait_http(http, proc, log)
                with connect(url, open_timeout=10) as anonymous:
                    assert json.loads(anonymous.recv(timeout=10))["type"] == "welcome"
                    anonymous.send(json.dumps({"op": "subscribe", "channel": "orders"}))
                    refused = json.loads(anonymous.recv(timeout=10))
                    assert refused["code"] == "auth_required", refused
                key = (data / "admin.key").read_text().strip()
                auth = {"Authorization": f"Bearer {key}"}
                with connect(url, additional_headers=auth, open_timeout=10) as ws:
                    assert json.loads(ws.recv(timeout=10))["user"] == "admin"
                    ws.send(json.dumps({"op": "subscribe", "channel": "quotes",
                                        "symbols": ["RELIANCE"]}))  # fmt: skip
                    for channel in ("orders", "fills", "positions"):
                        ws.send(json.dumps({"op": "subscribe", "channel": channel}))
                    quotes = 0
                    for message in _messages(ws, 30):
                        if message["channel"] == "quotes":
                            assert message["data"]["trading_symbol"] == "RELIANCE"
                            quotes += 1
                        if quotes >= 3:
                            break
                    assert quotes >= 3, "fewer than 3 RELIANCE quotes on the stream"
                    order = {"symbol": "RELIANCE", "side": "BUY", "quantity": 3,
                             "order_type": "MARKET", "product": "I"}  # fmt: skip
                    cid = ""
                    deadline = time.monotonic() + stretched(60)
                    while not cid:
                        resp = http.post("/api/v1/orders", json=order, headers=auth)
                        if resp.status_code == 201:
                            cid = resp.json()["client_order_id"]
                        else:  # execution recovering, or no tick of RELIANCE yet
                            assert resp.status_code in (422, 503), resp.text
                            assert time.monotonic() < deadline, resp.text
                            time.sleep(0.5)
                    statuses: list[str] = []
                    filled = 0
                    held = None
                    for message in _messages(ws, 60):
                        got = message["data"]
                        if message["channel"] == "orders" and got["client_order_id"] == cid:
                            statuses.append(got["status"])
                        elif message["channel"] == "fills" and got["client_order_id"] == cid:
                            filled += got["quantity"]
                        elif message["channel"] == "positions":
                            mine = [p for p in got["positions"] if p["strategy"] == "manual"]
                            held = mine[0]["quantity"] if mine else None
                        if statuses[-1:] == ["FILLED"] and filled == 3 and held == 3:
                            break
                    assert statuses[-1:] == ["FILLED"], statuses
                    assert filled == 3 and held == 3, (filled, held)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=stretched(20)) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
