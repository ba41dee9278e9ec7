"""``control.commands`` on a real Kafka broker: created compacted, rebuilt by a new group.

The topic is shared by the session's tests, so instruments are unique per run and only
they are looked at.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from feed_fakes import FakeFeedSocket
from quant.bus import topics
from quant.bus.control import publish_control
from quant.core.clock import FakeClock
from quant.core.control import KillSwitch, SubscriptionAction, SubscriptionRequest
from quant.core.events import FeedMode
from quant.ingestor.metrics import IngestorMetrics
from quant.ingestor.service import Ingestor
from quant.upstox.subscriptions import SubscriptionBook

pytestmark = pytest.mark.integration

T0 = 1_795_000_000_000_000_000


def test_the_control_topic_is_created_compacted(kafka_bootstrap: str) -> None:
    from confluent_kafka.admin import AdminClient, ConfigResource

    from quant.bus.kafka import KafkaBus

    KafkaBus(kafka_bootstrap, client_id="control-compacted-test").ensure_topics(topics.ALL_TOPICS)
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topics.CONTROL.name)
    described = admin.describe_configs([resource])[resource].result(timeout=30)
    got = {name: entry.value for name, entry in described.items()}
    assert got["cleanup.policy"] == "compact"
    for name, value in topics.CONTROL.config.items():
        assert got[name] == value, name
    ticks = ConfigResource(ConfigResource.Type.TOPIC, topics.TICKS.name)
    events = admin.describe_configs([ticks])[ticks].result(timeout=30)
    assert events["cleanup.policy"].value == "delete"  # events still age out


async def _until(predicate: Callable[[], bool], seconds: float = 60.0) -> None:
    for _ in range(int(seconds * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not reached within {seconds} s")


async def test_a_new_consumer_group_rebuilds_the_latest_state_per_key(
    kafka_bootstrap: str,
) -> None:
    from quant.bus.kafka import KafkaBus

    bus = KafkaBus(kafka_bootstrap, client_id="control-compacted-test")
    bus.ensure_topics(topics.ALL_TOPICS)
    run = uuid.uuid4().hex[:8].upper()
    x, y = f"NSE_EQ|CTLX{run}", f"NSE_EQ|CTLY{run}"
    strategy = f"s{run}"

    def req(action: SubscriptionAction, key: str) -> SubscriptionRequest:
        return SubscriptionRequest(action, (key,), FeedMode.FULL, "ops", T0)

    pub = bus.publisher()
    try:
        for command in (
            req(SubscriptionAction.ADD, x),
            req(SubscriptionAction.ADD, y),
            req(SubscriptionAction.REMOVE, x),
            KillSwitch(True, True, "loss", "2026-12-07", T0, strategy),
        ):
            publish_control(pub, command)
        pub.flush(30)
    finally:
        pub.close()

    sock = FakeFeedSocket(reconnect_ok=False)
    control = bus.consumer(f"ingestor-control-{run}", [topics.CONTROL.name])
    out = bus.publisher()
    ing = Ingestor(
        sockets=[sock],
        book=SubscriptionBook(connections=1),
        publisher=out,
        metrics=IngestorMetrics(CollectorRegistry()),
        clock=FakeClock(T0),
        control=control,
    )
    task = asyncio.create_task(ing.run())
    try:
        await _until(lambda: f"strategy/{strategy}" in ing.control_state.kill_switches())
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        control.close()
        out.close()
    mine = {k: m for k, m in ing.control_state.subscriptions().items() if run in k}
    assert mine == {y: FeedMode.FULL}
    assert ing.book.mode_of(y) is FeedMode.FULL and ing.book.mode_of(x) is None
    assert x in ing.control_state.removed()
    # the feed's last word on x is an unsubscribe (or nothing, when the backlog came in
    # one batch and the stale ADD was never sent)
    on_x = [method for method, keys, _ in sock.sent if x in keys]
    assert on_x in ([], ["sub", "unsub"])


def test_an_existing_topic_is_upgraded_to_the_registry_configs(kafka_bootstrap: str) -> None:
    from confluent_kafka.admin import AdminClient, ConfigResource

    from quant.bus.kafka import KafkaBus

    bus = KafkaBus(kafka_bootstrap, client_id="control-compacted-test")
    name = f"control-upgrade-{uuid.uuid4().hex[:8]}"
    bus.ensure_topics([topics.Topic(name, partitions=1, retention_ms=3_600_000)])  # as before
    bus.ensure_topics([topics.Topic(name, 1, 3_600_000, config=topics.CONTROL.config)])
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    got = admin.describe_configs([resource])[resource].result(timeout=30)
    assert {k: got[k].value for k in topics.CONTROL.config} == dict(topics.CONTROL.config)
