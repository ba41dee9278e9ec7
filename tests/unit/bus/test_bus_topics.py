"""Topic registry: the eight topics, unique names, sane layouts, lookup by name."""

from __future__ import annotations

import pytest

from quant.bus import topics


def test_registry_holds_the_designed_topic_names() -> None:
    assert {t.name for t in topics.ALL_TOPICS} == {
        "market.equity.ticks",
        "market.option.greeks",
        "market.enriched.ticks",
        "market.candles.1m",
        "scanner.suggestions",
        "orders.intents",
        "orders.events",
        "control.commands",
    }
    assert len({t.name for t in topics.ALL_TOPICS}) == len(topics.ALL_TOPICS)


def test_every_topic_has_partitions_and_retention() -> None:
    for t in topics.ALL_TOPICS:
        assert t.partitions >= 1
        assert t.retention_ms >= 3_600_000
        assert t.kafka_config()["retention.ms"] == str(t.retention_ms)


def test_lookup_by_name_and_unknown_name() -> None:
    assert topics.topic_named("orders.events") is topics.ORDERS
    with pytest.raises(KeyError, match="registered"):
        topics.topic_named("nope")


def test_control_topic_is_compacted_state() -> None:
    config = topics.CONTROL.kafka_config()
    assert config["cleanup.policy"] == "compact"
    # the head must roll to be compactable, and a new record must stay readable a while
    assert int(config["segment.ms"]) <= 24 * 3_600_000
    assert int(config["min.compaction.lag.ms"]) > 0
    # the other topics are events and keep deleting by age
    others = [t for t in topics.ALL_TOPICS if t is not topics.CONTROL]
    assert all("cleanup.policy" not in t.kafka_config() for t in others)
