"""The operator's kill-switch publisher against the real Kafka broker."""

from __future__ import annotations

import time
import uuid

import pytest

from quant.bus.codecs import decode_control
from quant.bus.topics import CONTROL
from quant.core.control import KillSwitch
from quant_operator.control import KafkaControlPublisher

pytestmark = pytest.mark.integration


async def test_kill_switch_reaches_the_control_topic(kafka_bootstrap: str) -> None:
    from quant.bus.kafka import KafkaBus

    bus = KafkaBus(kafka_bootstrap, client_id="quant-operator-test")
    bus.ensure_topics([CONTROL])
    strategy = f"s-{uuid.uuid4().hex[:6]}"  # unique key: the topic is shared
    command = KillSwitch(True, True, "spec.killSwitch=true", "2026-11-25", 123, strategy)
    wanted = f"killswitch/strategy/{strategy}"
    publisher = KafkaControlPublisher(bus.publisher())
    try:
        await publisher.publish(command)
    finally:
        publisher.close()

    consumer = bus.consumer(f"operator-test-{uuid.uuid4().hex[:8]}", [CONTROL.name])
    found = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and not found:
            for msg in consumer.poll(100, timeout=1.0):
                key = msg.key()
                if (key.decode() if isinstance(key, bytes) else key) == wanted:
                    value = msg.value()
                    assert isinstance(value, bytes)
                    found.append(decode_control(value))
    finally:
        consumer.close()
    assert found == [command]
