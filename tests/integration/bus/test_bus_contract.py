"""Bus port contract, run against both adapters: in-process and Kafka (``integration``).

Each test uses fresh topic and group names, so the Kafka variant shares one broker.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from conftest import require
from quant.bus.errors import ConsumeError, DeliveryError
from quant.bus.inprocess import InProcessBus
from quant.bus.port import Bus, Consumer, Received
from quant.bus.topics import Topic

BusFactory = Callable[[Sequence[Topic]], Bus]


@pytest.fixture(params=["inprocess", pytest.param("kafka", marks=pytest.mark.integration)])
def make_bus(request: pytest.FixtureRequest) -> Iterator[BusFactory]:
    """Returns ``make(topics) -> Bus`` with those topics created."""
    if request.param == "inprocess":

        def make_inprocess(topics: Sequence[Topic]) -> Bus:
            return InProcessBus(topics)

        yield make_inprocess
        return
    try:
        bootstrap = request.getfixturevalue("kafka_bootstrap")
    except pytest.FixtureLookupError:
        require(False, "the kafka_bootstrap fixture is not available")
    from quant.bus.kafka import KafkaBus

    def make_kafka(topics: Sequence[Topic]) -> Bus:
        bus = KafkaBus(
            bootstrap,
            client_id="contract-test",
            producer_config={"message.timeout.ms": 5000, "topic.metadata.propagation.max.ms": 1000},
            consumer_config={"session.timeout.ms": 6000},
        )
        bus.ensure_topics(topics)
        return bus

    yield make_kafka


def _topic(partitions: int = 3, **config: str) -> Topic:
    return Topic(f"test.{uuid.uuid4().hex[:12]}", partitions, 3_600_000, config)


def _drain(consumer: Consumer, want: int, deadline_s: float = 30.0) -> list[Received]:
    got: list[Received] = []
    deadline = time.monotonic() + deadline_s
    while len(got) < want and time.monotonic() < deadline:
        got.extend(consumer.poll(max_messages=want - len(got), timeout=0.5))
    return got


def _payloads(msgs: Sequence[Received]) -> list[bytes]:
    out = [m.value() for m in msgs]
    assert all(type(v) is bytes for v in out)
    return out


def _publish_numbered(bus: Bus, topic: Topic, n: int, keys: int = 10) -> None:
    pub = bus.publisher()
    for i in range(n):
        pub.publish(topic.name, f"NSE_EQ|K{i % keys}", f"{i % keys}:{i}".encode())
    pub.flush()
    pub.close()


def test_keyed_messages_arrive_complete_and_in_order_per_key(make_bus: BusFactory) -> None:
    topic = _topic(partitions=4)
    bus = make_bus([topic])
    _publish_numbered(bus, topic, 3000)
    consumer = bus.consumer(f"g-{uuid.uuid4().hex}", [topic.name])
    msgs = _drain(consumer, 3000)
    consumer.close()
    assert len(msgs) == 3000
    per_key: dict[str, list[int]] = defaultdict(list)
    partition_of: dict[Any, set[Any]] = defaultdict(set)
    for m in msgs:
        k, i = m.value().decode().split(":")
        assert m.key() == f"NSE_EQ|K{k}".encode()
        per_key[k].append(int(i))
        partition_of[m.key()].add(m.partition())
        assert m.topic() == topic.name
    assert all(seq == sorted(seq) for seq in per_key.values())
    assert sorted(i for seq in per_key.values() for i in seq) == list(range(3000))
    assert all(len(p) == 1 for p in partition_of.values()), "a key must stay on one partition"


def test_poll_returns_batches(make_bus: BusFactory) -> None:
    topic = _topic(partitions=1)
    bus = make_bus([topic])
    _publish_numbered(bus, topic, 2000)
    consumer = bus.consumer(f"g-{uuid.uuid4().hex}", [topic.name])
    sizes: list[int] = []
    deadline = time.monotonic() + 30
    while sum(sizes) < 2000 and time.monotonic() < deadline:
        batch = consumer.poll(max_messages=500, timeout=0.5)
        assert len(batch) <= 500
        sizes.append(len(batch))
    consumer.close()
    assert sum(sizes) == 2000
    assert max(sizes) > 1


def test_new_member_resumes_from_the_last_commit_without_loss(make_bus: BusFactory) -> None:
    topic = _topic(partitions=3)
    bus = make_bus([topic])
    _publish_numbered(bus, topic, 1000)
    group = f"g-{uuid.uuid4().hex}"

    first = bus.consumer(group, [topic.name])
    committed = _drain(first, 400)
    first.commit()
    uncommitted = _drain(first, 100)  # processed but never committed: must be redelivered
    assert uncommitted, "the first consumer should have had more to read"
    first.close()

    second = bus.consumer(group, [topic.name])
    rest = _drain(second, 1000 - len(committed))
    extra = second.poll(max_messages=100, timeout=1.0)
    second.close()

    assert not extra
    committed_vals = set(_payloads(committed))
    rest_vals = _payloads(rest)
    assert committed_vals.isdisjoint(rest_vals), "committed messages were delivered again"
    assert set(_payloads(uncommitted)) <= set(rest_vals)
    assert committed_vals | set(rest_vals) == {f"{i % 10}:{i}".encode() for i in range(1000)}
    # the second member starts each partition exactly at the committed position
    next_committed: dict[Any, int] = {}
    for m in committed:
        next_committed[m.partition()] = max(next_committed.get(m.partition(), 0), m.offset() + 1)
    first_rest: dict[Any, int] = {}
    for m in rest:
        first_rest.setdefault(m.partition(), m.offset())
    for p, off in first_rest.items():
        assert off == next_committed.get(p, 0)


def test_groups_are_independent_and_a_new_group_starts_at_the_earliest(
    make_bus: BusFactory,
) -> None:
    topic = _topic(partitions=2)
    bus = make_bus([topic])
    _publish_numbered(bus, topic, 200)
    a = bus.consumer(f"a-{uuid.uuid4().hex}", [topic.name])
    got_a = _drain(a, 200)
    a.commit()
    a.close()
    b = bus.consumer(f"b-{uuid.uuid4().hex}", [topic.name])
    got_b = _drain(b, 200)
    b.close()
    assert sorted(_payloads(got_a)) == sorted(_payloads(got_b))
    assert len(got_b) == 200


def test_publishing_to_a_missing_topic_raises_delivery_error(make_bus: BusFactory) -> None:
    bus = make_bus([_topic()])
    pub = bus.publisher()
    with pytest.raises(DeliveryError) as info:
        pub.publish(f"missing.{uuid.uuid4().hex}", "NSE_EQ|X", b"x")
        pub.flush(timeout=20)
    assert info.value.failures
    pub.close()


def test_a_message_over_the_topic_size_limit_raises_delivery_error(make_bus: BusFactory) -> None:
    topic = _topic(partitions=1, **{"max.message.bytes": "4096"})
    bus = make_bus([topic])
    pub = bus.publisher()
    pub.publish(topic.name, "NSE_EQ|OK", b"small")
    pub.flush()
    with pytest.raises(DeliveryError) as info:
        # incompressible, because the broker checks the compressed batch size
        pub.publish(topic.name, "NSE_EQ|BIG", os.urandom(20_000))
        pub.flush(timeout=20)
    assert "SIZE" in info.value.failures[0].code.upper()
    # the failure is reported once; the publisher keeps working afterwards
    pub.publish(topic.name, "NSE_EQ|OK", b"small again")
    pub.flush()
    pub.close()


def test_consuming_a_missing_topic_raises_consume_error(make_bus: BusFactory) -> None:
    bus = make_bus([_topic()])
    with pytest.raises(ConsumeError):
        consumer = bus.consumer(f"g-{uuid.uuid4().hex}", [f"missing.{uuid.uuid4().hex}"])
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                consumer.poll(timeout=0.5)
        finally:
            consumer.close()
