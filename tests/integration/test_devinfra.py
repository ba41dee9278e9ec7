"""The real local servers and their fixtures: each starts and answers, restarts keep data."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql

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


def test_private_kafka_broker_killed_and_restarted_keeps_a_produced_message(
    kafka_server_factory: Callable[[], KafkaServer],
) -> None:
    broker = kafka_server_factory()
    bootstrap = broker.bootstrap
    topic = "restart-survivor"
    _create_topic(bootstrap, topic)
    _produce(bootstrap, topic, b"k", b"before-crash")

    broker.kill()
    assert not broker.running()
    broker.start()

    assert broker.bootstrap == bootstrap
    _produce(bootstrap, topic, b"k", b"after-restart")
    assert _consume_all(bootstrap, topic, 2) == [(b"k", b"before-crash"), (b"k", b"after-restart")]


def test_private_kafka_broker_stopped_politely_restarts_on_the_same_port(
    kafka_server_factory: Callable[[], KafkaServer],
) -> None:
    broker = kafka_server_factory()
    port = broker.port
    broker.stop()
    assert not broker.running()
    broker.start()
    assert broker.port == port and broker.healthy()
