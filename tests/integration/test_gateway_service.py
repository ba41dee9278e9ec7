"""``quant gateway`` as a subprocess on real Kafka and PostgreSQL.

Seeds one instrument into PostgreSQL, starts the command on a free port, publishes a Tick
for it on ``market.equity.ticks`` and polls the quote endpoint until the price shows; then
checks ``/healthz``/``/readyz``/``/metrics``, that an API key made by ``quant users add``
on the same PostgreSQL is accepted by ``/api/v1/me`` (and a missing one refused and
counted), and that SIGINT stops it within 5 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from quant.bus import codecs, topics
from quant.bus.kafka import KafkaBus
from quant.core.events import FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.store.postgres import PostgresStore

pytestmark = pytest.mark.integration

INST = Instrument(
    "NSE_EQ|INE999Z01017",
    "GWTESTCO",
    "GATEWAY TEST COMPANY LTD",
    "NSE",
    "NSE_EQ",
    InstrumentType.EQUITY,
    tick_size_paise=5,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gateway_serves_quotes_from_kafka_and_postgres(
    kafka_bootstrap: str, fresh_postgres_dsn: str
) -> None:
    store = PostgresStore(fresh_postgres_dsn).open()
    try:
        store.upsert_instruments([INST])
    finally:
        store.close()
    bus = KafkaBus(kafka_bootstrap, client_id="test-gateway-service")
    bus.ensure_topics(topics.ALL_TOPICS)

    port = _free_port()
    env = {
        **os.environ,
        "QUANT_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "QUANT_POSTGRES__DSN": fresh_postgres_dsn,
        "QUANT_GATEWAY__HOST": "127.0.0.1",
        "QUANT_GATEWAY__PORT": str(port),
        "QUANT_GROUP_ID": f"gateway-test-{uuid.uuid4().hex[:8]}",
    }
    added = subprocess.run(
        [sys.executable, "-m", "quant.cli", "users", "add", "asha", "--role", "trader"],
        env={**env, "QUANT_ARGON2__MEMORY_KIB": "1024", "QUANT_ARGON2__TIME_COST": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    key = added.stdout.splitlines()[-1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "quant.cli", "gateway"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        publisher = bus.publisher()
        ltp = 123_455
        deadline = time.monotonic() + 60
        body: dict[str, object] = {}
        with httpx.Client(base_url=base, timeout=5) as client:
            while time.monotonic() < deadline:
                assert proc.poll() is None, "quant gateway exited early"
                now = time.time_ns()
                tick = Tick(INST.instrument_key, FeedMode.LTPC, now, now, ltp, close_price=120_000)
                publisher.publish(topics.TICKS.name, INST.instrument_key, codecs.encode_tick(tick))
                publisher.flush(10)
                try:
                    resp = client.get("/api/v1/market/quote/GWTESTCO")
                except httpx.TransportError:
                    time.sleep(0.5)
                    continue
                if resp.status_code == 200:
                    body = resp.json()
                    break
                assert resp.status_code == 404, resp.text
                time.sleep(0.5)
            assert body.get("last_price") == "1234.55", body
            assert body.get("source") == "upstox", body  # a cluster gateway reads Upstox
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert client.get("/api/v1/market/quote/NOSUCHSYMBOL").status_code == 404
            me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
            assert me.status_code == 200, me.text
            assert me.json() == {"user": "asha", "role": "trader"}
            assert client.get("/api/v1/me").status_code == 401
            metrics = client.get("/metrics").text
            assert 'gateway_auth_failures_total{reason="missing"} 1.0' in metrics
        publisher.close()

        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        rc = proc.wait(timeout=5)
        assert time.monotonic() - started < 5
        assert rc == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        assert key[16:] not in output  # the key's secret never reaches the log
        print(output[-4000:])  # shown by pytest only when the test fails
