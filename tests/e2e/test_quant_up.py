"""``quant up`` as a user runs it: a subprocess that serves quotes, then stops on Ctrl-C.

Starts ``quant up --port <free>`` with a private data dir, polls the quote endpoint until
it answers (within 15 s of the start), checks the greeks and search endpoints, sends
SIGINT and requires a clean exit within 5 s, then checks that what the feature engine
wrote is in the embedded tick store (nothing lost on shutdown).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from e2e_kit import free_port, stretched

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_quant_up_serves_a_quote_then_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "QUANT_DATA_DIR": str(tmp_path), "QUANT_LOG_LEVEL": "INFO"}
    log = (tmp_path / "up.log").open("w")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "quant.cli", "up", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    budget = stretched(15.0)
    try:
        quote = None
        with httpx.Client(base_url=base, timeout=2.0) as http:
            while time.monotonic() - started < budget and proc.poll() is None:
                try:
                    r = http.get("/api/v1/market/quote/RELIANCE")
                except httpx.TransportError:
                    r = None
                if r is not None and r.status_code == 200:
                    quote = r.json()
                    break
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            output = (tmp_path / "up.log").read_text()
            assert quote is not None, f"no quote within {budget:.0f} s:\n{output}"
            assert elapsed < budget
            assert quote["instrument_key"] == "NSE_EQ|INE002A01018"
            assert quote["source"] == "sim"  # the default source: the embedded simulator
            assert int(quote["last_price"].replace(".", "")) > 0
            assert len(quote["depth"]) == 5
            assert quote["stale"] is False, quote["age_s"]  # by the market's own clock
            time.sleep(2.0)  # let a few market steps flow through the feature engine
            chain = http.get("/api/v1/market/greeks/NIFTY 50").json()
            assert chain["options"], chain
            assert any(o["upstox"] is not None for o in chain["options"])
            # only options with data: no rows of nulls for strikes that are not subscribed
            assert all(o["upstox"] or o["ours"] for o in chain["options"]), chain
            docs = http.get("/docs").text  # offline: the Swagger UI comes from the package
            assert "http" not in docs
            js = http.get("/static/swagger-ui/swagger-ui-bundle.js")
            assert js.status_code == 200 and "SwaggerUIBundle" in js.text
            hits = http.get("/api/v1/instruments/search", params={"query": "INFY"}).json()
            assert hits[0]["trading_symbol"] == "INFY"
            assert http.get("/api/v1/market/quote/NOSUCH").status_code == 404
            assert http.get("/readyz").status_code == 200
            metrics = http.get("/metrics").text
            assert "ingestor_ticks_total" in metrics
            assert "features_enriched_total" in metrics
        proc.send_signal(signal.SIGINT)
        stop_started = time.monotonic()
        code = proc.wait(timeout=10)
        stop_took = time.monotonic() - stop_started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    output = (tmp_path / "up.log").read_text()
    assert code == 0, output
    assert stop_took < 5.0, output
    assert f"quant-platform is up: {base}" in output
    assert "  source: sim (the simulator at http://127.0.0.1:" in output
    assert f"  data:   {tmp_path}   (QUANT_DATA_DIR)" in output
    assert "Traceback" not in output
    db = sqlite3.connect(tmp_path / "ticks.sqlite")
    try:
        ticks = db.execute("SELECT count(*) FROM ticks").fetchone()[0]
        enriched = db.execute(
            "SELECT count(*) FROM ticks WHERE ts_enriched IS NOT NULL"
        ).fetchone()[0]
        greeks = db.execute("SELECT count(*) FROM option_greeks").fetchone()[0]
    finally:
        db.close()
    assert ticks > 0
    assert enriched == ticks  # every consumed tick was enriched and written before exit
    assert greeks > 0
    rel = sqlite3.connect(tmp_path / "relational.sqlite")
    try:
        assert rel.execute("SELECT count(*) FROM instruments").fetchone()[0] > 20_000
    finally:
        rel.close()
