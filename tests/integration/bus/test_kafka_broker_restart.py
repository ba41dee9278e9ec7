"""Kafka adapter across a broker restart: nothing lost, nothing duplicated, offsets kept.

A publisher keeps publishing while its private broker is killed (SIGKILL) and started
again on the same port and data; the idempotent producer retries, ``flush`` succeeds,
and a consumer group that committed before the crash resumes after its commit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from quant.bus.kafka import KafkaBus
from quant.bus.port import Consumer, Received
from quant.bus.topics import Topic

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _drain(consumer: Consumer, want: int, deadline_s: float = 60.0) -> list[Received]:
    got: list[Received] = []
    deadline = time.monotonic() + deadline_s
    while len(got) < want and time.monotonic() < deadline:
        got.extend(consumer.poll(max_messages=want - len(got), timeout=0.5))
    return got


def test_publish_through_a_broker_crash_loses_and_duplicates_nothing(
    kafka_server_factory: Callable[[], Any],
) -> None:
    broker = kafka_server_factory()
    topic = Topic(f"restart.{uuid.uuid4().hex[:8]}", 3, 3_600_000)
    bus = KafkaBus(broker.bootstrap, client_id="restart-test")
    bus.ensure_topics([topic])
    group = f"g-{uuid.uuid4().hex}"

    pub = bus.publisher()
    for i in range(500):
        pub.publish(topic.name, f"NSE_EQ|K{i % 7}", str(i).encode())
    pub.flush()
    consumer = bus.consumer(group, [topic.name])
    before = _drain(consumer, 500)
    assert len(before) == 500
    consumer.commit()
    consumer.close()

    broker.kill()
    for i in range(500, 1000):  # queued in librdkafka while the broker is down
        pub.publish(topic.name, f"NSE_EQ|K{i % 7}", str(i).encode())
    broker.start()
    for i in range(1000, 1500):
        pub.publish(topic.name, f"NSE_EQ|K{i % 7}", str(i).encode())
    pub.flush(timeout=120)
    pub.close()

    consumer = bus.consumer(group, [topic.name])
    after = _drain(consumer, 1000, deadline_s=120)
    extra = consumer.poll(max_messages=100, timeout=2.0)
    consumer.close()
    values = sorted(int(m.value()) for m in after)
    assert not extra
    assert values == list(range(500, 1500))
