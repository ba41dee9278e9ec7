"""``quant up``'s order path as a user meets it: a manual order through the gateway.

Starts ``quant up`` (simulated market; paper broker by default, or ``--broker upstox``:
the live Upstox adapter sending to the simulator), waits for a quote of RELIANCE, posts a
MARKET order with the admin key on ``POST /api/v1/orders`` and polls ``GET
/api/v1/trades`` until the fill shows, with its charges. The banner names the broker and
where the admin key is; the order is in ``GET /api/v1/orders`` and the position in ``GET
/api/v1/positions``; an order beyond the circuit limits is refused ``PRICE_BAND``; the
kill switch halts (an order is refused ``HALTED``) and resumes; a viewer-less request is
refused; SIGINT stops everything with exit code 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_kit import free_port, stretched

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _wait_for(
    what: str, probe: Any, budget_s: float, proc: subprocess.Popen[bytes], log: Path
) -> Any:
    """``probe()``'s first truthy answer, polling; fails with the log if it takes too long."""
    deadline = time.monotonic() + stretched(budget_s)
    while True:
        assert proc.poll() is None, f"quant up exited while waiting for {what}:\n{log.read_text()}"
        try:
            found = probe()
        except httpx.TransportError:
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} in time:\n{log.read_text()}"
        time.sleep(0.3)


@pytest.mark.parametrize("broker", ["paper", "upstox"])
def test_a_manual_order_fills_and_shows_in_trades_with_charges(tmp_path: Path, broker: str) -> None:
    data = tmp_path / "data"
    log = tmp_path / "up.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANT_")}
    env["QUANT_DATA_DIR"] = str(data)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quant.cli", "up", "--port", str(port), "--broker", broker],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:

                def quoted() -> bool:
                    return http.get("/api/v1/market/quote/RELIANCE").status_code == 200

                _wait_for("RELIANCE quote", quoted, 60.0, proc, log)
                key = (data / "admin.key").read_text().strip()
                auth = {"Authorization": f"Bearer {key}"}
                assert http.get("/api/v1/trades").status_code == 401
                order = {
                    "symbol": "RELIANCE",
                    "side": "BUY",
                    "quantity": 3,
                    "order_type": "MARKET",
                    "product": "I",
                }

                def placed() -> dict[str, Any] | None:
                    resp = http.post("/api/v1/orders", json=order, headers=auth)
                    if resp.status_code == 503:  # the execution service is still recovering
                        return None
                    if resp.status_code == 422 and resp.json()["detail"]["code"] == "NO_QUOTE":
                        return None  # it reads ticks from its start: none for RELIANCE yet
                    assert resp.status_code == 201, resp.text
                    return dict(resp.json())

                body = _wait_for("order accepted", placed, 60.0, proc, log)
                cid = body["client_order_id"]
                assert body["orders"] and body["orders"][0]["strategy"] == "manual", body

                def traded() -> list[dict[str, Any]]:
                    resp = http.get("/api/v1/trades", headers=auth)
                    assert resp.status_code == 200, resp.text
                    return [t for t in resp.json() if t["client_order_id"].startswith(cid)]

                trades = _wait_for("trade of the order", traded, 60.0, proc, log)
                filled = sum(t["quantity"] for t in trades)
                assert filled <= 3 and all(t["side"] == "BUY" for t in trades), trades
                for t in trades:
                    charges = t["charges"]
                    assert Decimal(charges["total"]) > 0, t
                    parts = ("brokerage", "stt", "exchange", "sebi", "stamp", "gst", "ipft")
                    assert sum(Decimal(charges[p]) for p in parts) == Decimal(charges["total"])
                    value = Decimal(t["price"]) * t["quantity"]
                    assert Decimal(t["value"]) == value, t

                def order_done() -> dict[str, Any] | None:
                    resp = http.get("/api/v1/orders", headers=auth)
                    assert resp.status_code == 200, resp.text
                    mine = [o for o in resp.json() if o["client_order_id"] == cid]
                    return mine[0] if mine and mine[0]["status"] == "FILLED" else None

                done = _wait_for("the order FILLED", order_done, 60.0, proc, log)
                mode = "live" if broker == "upstox" else "paper"
                assert done["mode"] == mode and done["filled_quantity"] == 3, done
                positions = http.get("/api/v1/positions", headers=auth).json()
                mine = [p for p in positions if p["strategy"] == "manual"]
                assert [p["quantity"] for p in mine] == [3], positions

                # beyond the simulator's circuit limits: refused by the risk check itself
                # (the limits come from the REST full quote), never sent to the broker
                beyond = {**order, "order_type": "LIMIT", "price": "99999.00"}
                refused = http.post("/api/v1/orders", json=beyond, headers=auth)
                assert refused.status_code == 422, refused.text
                assert refused.json()["detail"]["code"] == "PRICE_BAND", refused.text
                # the kill switch: halted, an order is refused; resumed, it goes again
                halt = http.post("/api/v1/killswitch", json={"action": "halt"}, headers=auth)
                assert halt.json()["account"] == "HALTED", halt.text
                held = http.post("/api/v1/orders", json=order, headers=auth)
                assert held.json()["detail"]["code"] == "HALTED", held.text
                resume = http.post("/api/v1/killswitch", json={"action": "resume"}, headers=auth)
                assert resume.json()["account"] == "ACTIVE", resume.text
                pnl = http.get("/api/v1/pnl", headers=auth).json()
                assert Decimal(pnl["charges"]) > 0 and pnl["state"]["account"] == "ACTIVE", pnl
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=stretched(20)) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    banner = log.read_text()
    assert f"broker: {broker}" in banner, banner
    assert f"  key:    {data / 'admin.key'}" in banner, banner
    assert f"  login:  http://127.0.0.1:{port}/login   as admin, password in " in banner, banner
    assert str(data / "admin.password") in banner, banner
    assert f"pnl: http://127.0.0.1:{port}/api/v1/pnl" in banner, banner
