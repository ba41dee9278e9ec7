"""``quant gateway`` while its PostgreSQL stops and comes back: ``/readyz`` tells the truth.

The command as a user runs it (a subprocess, real Kafka, a private PostgreSQL it can
lose). It is started while PostgreSQL is down: it does not exit, and its ``/readyz`` is
503 naming PostgreSQL until PostgreSQL starts. Once it serves a quote and is ready,
PostgreSQL is stopped: ``/readyz`` turns 503 with a reason naming PostgreSQL (the process
keeps running and ``/healthz`` stays 200); PostgreSQL is started again on the same port
and data: ``/readyz`` is 200 again and symbols resolve again. The detection and recovery
times are printed (``-s``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import require
from quant.bus import codecs, topics
from quant.bus.kafka import KafkaBus
from quant.core.events import FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.devinfra.errors import InfraError
from quant.devinfra.postgres import PostgresServer
from quant.devinfra.process import free_port
from quant.store.postgres import PostgresStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INST = Instrument(
    "NSE_EQ|INE998Z01019",
    "PGOUTCO",
    "POSTGRES OUTAGE TEST LTD",
    "NSE",
    "NSE_EQ",
    InstrumentType.EQUITY,
    tick_size_paise=5,
)


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="quant-pg-outage-"))
    root.chmod(0o755)  # PostgreSQL may run as another user
    server = PostgresServer(root / "postgres", die_with_parent=True)
    try:
        server.start()
    except InfraError as e:
        require(False, f"private PostgreSQL: {e}")
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def _until(predicate: Callable[[], bool], timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - started


def test_gateway_readyz_names_postgresql_while_it_is_down(
    kafka_bootstrap: str, private_postgres: PostgresServer
) -> None:
    store = PostgresStore(private_postgres.dsn).open()
    try:
        store.upsert_instruments([INST])
    finally:
        store.close()
    bus = KafkaBus(kafka_bootstrap, client_id="test-gateway-pg-outage")
    bus.ensure_topics(topics.ALL_TOPICS)
    private_postgres.stop()  # down when the gateway starts
    port = free_port()
    env = {
        **os.environ,
        "QUANT_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "QUANT_POSTGRES__DSN": private_postgres.dsn,
        "QUANT_GATEWAY__HOST": "127.0.0.1",
        "QUANT_GATEWAY__PORT": str(port),
        "QUANT_GROUP_ID": f"gateway-pg-outage-{uuid.uuid4().hex[:8]}",
        "QUANT_DEPENDENCY_CHECK_INTERVAL_S": "0.5",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "quant.cli", "gateway"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    publisher = bus.publisher()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:

            def readyz() -> tuple[int, list[str]]:
                assert proc.poll() is None, "quant gateway exited"
                try:
                    resp = client.get("/readyz")
                except httpx.TransportError:
                    return 0, []
                return resp.status_code, list(resp.json().get("reasons", []))

            def quote_served() -> bool:
                now = time.time_ns()
                tick = Tick(INST.instrument_key, FeedMode.LTPC, now, now, 123_455)
                publisher.publish(topics.TICKS.name, INST.instrument_key, codecs.encode_tick(tick))
                publisher.flush(10)
                try:
                    return client.get("/api/v1/market/quote/PGOUTCO").status_code == 200
                except httpx.TransportError:
                    return False

            def not_ready_naming_postgres() -> bool:
                status, reasons = readyz()
                return status == 503 and any("PostgreSQL" in r for r in reasons)

            _until(not_ready_naming_postgres, 60, "/readyz 503 naming PostgreSQL at start-up")
            assert client.get("/healthz").status_code == 200
            private_postgres.start()
            _until(quote_served, 60, "a quote served")
            _until(lambda: readyz()[0] == 200, 30, "/readyz 200")

            stopped = time.monotonic()
            private_postgres.stop()
            _until(not_ready_naming_postgres, 30, "/readyz 503 naming PostgreSQL")
            detect_s = time.monotonic() - stopped
            assert client.get("/healthz").status_code == 200  # alive: not to be restarted
            reasons = readyz()[1]

            private_postgres.start()
            recover_s = _until(lambda: readyz()[0] == 200, 60, "/readyz 200 again")
            assert _until(quote_served, 30, "symbols resolving again") >= 0
        print(
            f"\nPostgreSQL outage: gateway /readyz 503 {detect_s:.1f} s after the stop "
            f"({reasons}); 200 again {recover_s:.1f} s after PostgreSQL was back"
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        publisher.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        print(output[-4000:])  # shown by pytest only when the test fails
