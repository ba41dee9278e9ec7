"""The real local servers and their fixtures: each starts and answers, restarts keep data."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql

from conftest import require

if TYPE_CHECKING:
    from quant.devinfra.servers import KafkaServer, QuestDBServer

pytestmark = pytest.mark.integration


def _create_topic(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    futures[topic].result(timeout=30)


def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def _consume_all(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, bytes]]:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    got: list[tuple[bytes, bytes]] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 60
        while len(got) < expected and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            assert message.error() is None, message.error()
            got.append((message.key(), message.value()))
    finally:
        consumer.close()
    return got


def test_kafka_bootstrap_is_a_loopback_broker_that_round_trips_a_message(
    kafka_bootstrap: str,
) -> None:
    assert kafka_bootstrap.startswith("127.0.0.1:")
    topic = f"devinfra-{uuid.uuid4().hex[:8]}"
    _create_topic(kafka_bootstrap, topic)
    _produce(kafka_bootstrap, topic, b"NSE_EQ|INE002A01018", b"tick-1")
    assert _consume_all(kafka_bootstrap, topic, 1) == [(b"NSE_EQ|INE002A01018", b"tick-1")]


def test_questdb_answers_http_pg_and_ilp(questdb: QuestDBServer) -> None:
    from questdb import Sender, TimestampNanos

    assert questdb.host == "127.0.0.1"
    assert questdb.http_url == f"http://127.0.0.1:{questdb.http_port}"
    assert questdb.ilp_conf == f"http::addr=127.0.0.1:{questdb.http_port};"
    table = f"devinfra_{uuid.uuid4().hex[:8]}"
    with Sender.from_conf(questdb.ilp_conf) as sender:
        sender.row(
            table,
            symbols={"sym": "RELIANCE"},
            columns={"ltp_paise": 245_010},
            at=TimestampNanos(1_795_000_000_000_000_000),
        )
        sender.flush()
    deadline = time.monotonic() + 30
    rows: list[tuple[object, ...]] = []
    while time.monotonic() < deadline and not rows:
        with psycopg.connect(questdb.pg_dsn, autocommit=True) as conn:
            try:
                query = sql.SQL("select sym, ltp_paise from {}").format(sql.Identifier(table))
                rows = conn.execute(query).fetchall()
            except psycopg.errors.DatabaseError:
                rows = []  # the table becomes visible once the WAL is applied
        if not rows:
            time.sleep(0.2)
    assert rows == [("RELIANCE", 245_010)]


def test_questdb_runs_with_the_tuned_settings(questdb: QuestDBServer) -> None:
    """The server took the environment it was given (``SHOW PARAMETERS`` names the source)."""
    from quant.devinfra.questdb import O3_SPLIT, shared_workers

    with psycopg.connect(questdb.pg_dsn, autocommit=True) as conn:
        params = {row[1]: (row[2], row[3]) for row in conn.execute("SHOW PARAMETERS")}
    for name, value in O3_SPLIT.items():
        assert params[name] == (value, "env")
    assert params["QDB_WAL_APPLY_WORKER_COUNT"] == (str(shared_workers()), "env")


def test_postgres_dsn_reaches_quant_platform_as_superuser(postgres_dsn: str) -> None:
    assert "@127.0.0.1:" in postgres_dsn
    with psycopg.connect(postgres_dsn) as conn:
        row = conn.execute("select current_database(), current_setting('is_superuser')").fetchone()
    assert row == ("quant_platform", "on")


@pytest.mark.parametrize("attempt", [1, 2])
def test_fresh_postgres_dsn_is_an_empty_database_of_its_own(
    fresh_postgres_dsn: str, postgres_dsn: str, attempt: int
) -> None:
    # both attempts create the same table: the second would fail if the database were reused
    with psycopg.connect(fresh_postgres_dsn) as conn:
        name = conn.execute("select current_database()").fetchone()
        assert name is not None and name[0] != "quant_platform"
        tables = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("create table scratch (n int)")
        conn.execute("insert into scratch values (%s)", (attempt,))
    with psycopg.connect(postgres_dsn) as conn:
        seen = conn.execute("select to_regclass('public.scratch')").fetchone()
    assert seen == (None,)


def test_private_kafka_broker_restarts_on_its_port_with_its_messages_after_stop_and_kill(
    kafka_server_factory: Callable[[], KafkaServer],
) -> None:
    broker = kafka_server_factory()
    bootstrap = broker.bootstrap
    topic = "restart-survivor"
    _create_topic(bootstrap, topic)
    _produce(bootstrap, topic, b"k", b"before-stop")

    broker.stop()
    assert not broker.running()
    broker.start()
    assert broker.bootstrap == bootstrap
    _produce(bootstrap, topic, b"k", b"before-crash")

    broker.kill()
    assert not broker.running()
    broker.start()
    assert broker.bootstrap == bootstrap
    _produce(bootstrap, topic, b"k", b"after-crash")

    assert _consume_all(bootstrap, topic, 3) == [
        (b"k", b"before-stop"),
        (b"k", b"before-crash"),
        (b"k", b"after-crash"),
    ]


def _quant(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``quant`` command line in a child process, as a developer would."""
    return subprocess.run(
        [sys.executable, "-m", "quant.cli", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _process_lives(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def test_infra_up_twice_reuses_the_servers_status_reports_and_down_stops_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from quant.cli import main as quant_main

    folder = Path(tempfile.mkdtemp(prefix="quant-infra-")) / "infra"
    folder.parent.chmod(0o755)
    monkeypatch.setenv("QUANT_INFRA_DIR", str(folder))
    try:
        first = _quant("dev", "infra", "up")
        require(first.returncode == 0, f"quant dev infra up failed:\n{first.stdout}{first.stderr}")
        state = json.loads((folder / "state.json").read_text())
        assert set(state) == {"kafka", "questdb", "postgres"}
        assert all(_process_lives(entry["pid"]) for entry in state.values())
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in first.stdout.splitlines()
            if line.startswith("export ")
        )
        kafka_port = state["kafka"]["ports"]["port"]
        assert exports["QUANT_KAFKA__BOOTSTRAP_SERVERS"] == f"127.0.0.1:{kafka_port}"
        assert exports["QUANT_QUESTDB__HTTP_PORT"] == str(state["questdb"]["ports"]["http_port"])
        assert exports["QUANT_QUESTDB__PG_PORT"] == str(state["questdb"]["ports"]["pg_port"])
        with psycopg.connect(exports["QUANT_POSTGRES__DSN"]) as conn:
            assert conn.execute("select current_database()").fetchone() == ("quant_platform",)

        second = _quant("dev", "infra", "up")
        assert second.returncode == 0, second.stdout + second.stderr
        assert json.loads((folder / "state.json").read_text()) == state
        assert second.stdout.count("already running") == 3

        assert quant_main(["dev", "infra", "status"]) == 0
        report = _quant("dev", "infra", "status")
        assert report.returncode == 0
        assert report.stdout.count("healthy") == 3

        # a crashed server shows as down, and the next `up` brings it back on its old ports
        os.kill(state["questdb"]["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _process_lives(state["questdb"]["pid"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        after_crash = _quant("dev", "infra", "status")
        assert after_crash.returncode == 1
        assert re.search(r"^questdb .* down$", after_crash.stdout, re.MULTILINE)
        assert _quant("dev", "infra", "up").returncode == 0
        revived = json.loads((folder / "state.json").read_text())
        assert revived["questdb"]["ports"] == state["questdb"]["ports"]
        assert revived["questdb"]["pid"] != state["questdb"]["pid"]

        assert _quant("dev", "infra", "down").returncode == 0
        stopped = _quant("dev", "infra", "status")
        assert stopped.returncode == 1
        assert stopped.stdout.count(" down") == 3
        assert not any(_process_lives(entry["pid"]) for entry in revived.values())
    finally:
        _quant("dev", "infra", "down")
        shutil.rmtree(folder.parent, ignore_errors=True)


def test_a_port_taken_between_pick_and_bind_is_picked_again() -> None:
    from quant.devinfra.servers import PostgresServer

    root = Path(tempfile.mkdtemp(prefix="quant-clash-"))
    root.chmod(0o755)
    server = PostgresServer(root / "pg", die_with_parent=True)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", server.port))
        squatter.listen()
        taken = server.port
        try:
            server.start()
            assert server.port != taken and server.healthy()
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
