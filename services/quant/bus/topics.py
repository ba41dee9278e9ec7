"""The one registry of bus topics: names, partition counts, retention and topic configs.

Every producer and consumer names topics through these constants, and
``KafkaBus.ensure_topics`` / ``InProcessBus`` create them from ``ALL_TOPICS``.
Market-data topics are keyed by ``instrument_key`` so that one instrument's events
stay in order on one partition.

``control.commands`` holds state, not events: it is log-compacted and keyed by what each
command controls (:func:`quant.core.control.control_key`), so Kafka keeps the latest
command per key for ever and a restarted or new consumer rebuilds the current state by
reading it from the beginning. Its ``retention_ms`` only bounds how long a tombstone
(``delete.retention.ms``) stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic's name and how it is laid out (``config`` holds extra Kafka topic configs)."""

    name: str
    partitions: int
    retention_ms: int
    config: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def kafka_config(self) -> dict[str, str]:
        """Topic-level configs for ``AdminClient.create_topics``."""
        return {"retention.ms": str(self.retention_ms), **self.config}


TICKS = Topic("market.equity.ticks", partitions=12, retention_ms=2 * _DAY_MS)
GREEKS = Topic("market.option.greeks", partitions=6, retention_ms=2 * _DAY_MS)
ENRICHED = Topic("market.enriched.ticks", partitions=12, retention_ms=2 * _DAY_MS)
CANDLES = Topic("market.candles.1m", partitions=6, retention_ms=7 * _DAY_MS)
SUGGESTIONS = Topic("scanner.suggestions", partitions=1, retention_ms=7 * _DAY_MS)
ORDERS = Topic("orders.events", partitions=3, retention_ms=30 * _DAY_MS)
#: order intents from strategies to the one execution service; one partition, so the
#: service sees them in the order they were sent
INTENTS = Topic("orders.intents", partitions=1, retention_ms=7 * _DAY_MS)
CONTROL = Topic(
    "control.commands",
    partitions=1,
    retention_ms=7 * _DAY_MS,
    config=MappingProxyType(
        {
            "cleanup.policy": "compact",
            # a record stays uncompacted this long, so a consumer catching up sees each
            # change; segments roll hourly so the head becomes compactable (the active
            # segment never is), and a log 10% dirty is cleaned
            "min.compaction.lag.ms": str(_MINUTE_MS),
            "segment.ms": str(_HOUR_MS),
            "min.cleanable.dirty.ratio": "0.1",
            "delete.retention.ms": str(_DAY_MS),
        }
    ),
)

ALL_TOPICS: tuple[Topic, ...] = (
    TICKS, GREEKS, ENRICHED, CANDLES, SUGGESTIONS, INTENTS, ORDERS, CONTROL,
)  # fmt: skip
_BY_NAME = {t.name: t for t in ALL_TOPICS}


def topic_named(name: str) -> Topic:
    """Look a registered topic up by name; ``KeyError`` names the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}; registered: {sorted(_BY_NAME)}") from None
