"""In-process event bus: the ``Bus`` port in memory, for ``quant up`` and for unit tests.

It keeps Kafka's semantics where services can observe them: topics from the registry
with partitions (a key always maps to the same partition, so per-instrument order
holds), consumer groups that split partitions among their members, committed offsets
per group (a new member resumes from the last commit; uncommitted messages are
redelivered), earliest-offset start for a new group (the end of the log with
``from_end``), and delivery errors for an
unknown topic or an oversized message. Thread-safe: publishers and consumers may live
on different threads; ``poll`` blocks on a condition variable up to its timeout.

Memory is bounded: each partition keeps at most ``max_messages_per_partition`` messages
(oldest dropped first, like retention); a consumer that falls behind the retained log
skips to its start and the skipped count is logged and exposed as ``lost``.

A compacted topic (``cleanup.policy=compact``: ``control.commands``) is state, so it is
never trimmed here; nor is it compacted: every message stays, in order, and a consumer
reading it from the start folds it into the latest per key itself
(:class:`quant.core.control.ControlState`), which gives the same result as Kafka's
compacted log (compaction only removes records a later one with the same key replaces).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from quant.bus.errors import CommitError, ConsumeError, DeliveryError, DeliveryFailure
from quant.bus.topics import ALL_TOPICS, Topic

log = logging.getLogger(__name__)

_TopicPartition = tuple[str, int]


class InProcessMessage:
    """A stored message; its accessors mirror ``confluent_kafka.Message``."""

    __slots__ = ("_key", "_offset", "_partition", "_topic", "_value")

    def __init__(self, topic: str, partition: int, offset: int, key: bytes, value: bytes) -> None:
        self._topic = topic
        self._partition = partition
        self._offset = offset
        self._key = key
        self._value = value

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return self._value


class _Log:
    """One partition: a list of messages plus the offset of its first element."""

    __slots__ = ("messages", "start")

    def __init__(self) -> None:
        self.messages: list[InProcessMessage] = []
        self.start = 0

    @property
    def end(self) -> int:
        return self.start + len(self.messages)


@dataclass
class _Group:
    members: list[InProcessConsumer] = field(default_factory=list)
    generation: int = 0
    committed: dict[_TopicPartition, int] = field(default_factory=dict)


class InProcessBus:
    """An in-memory ``Bus``. ``topics`` are created up front (default: the registry)."""

    def __init__(
        self,
        topics: Iterable[Topic] = ALL_TOPICS,
        *,
        max_messages_per_partition: int = 200_000,
        max_message_bytes: int = 1_048_576,
    ) -> None:
        if max_messages_per_partition < 1:
            raise ValueError("max_messages_per_partition must be positive")
        self._cond = threading.Condition()
        self._logs: dict[str, list[_Log]] = {}
        self._max_bytes: dict[str, int] = {}
        self._compacted: set[str] = set()
        self._groups: dict[str, _Group] = {}
        self._retain = max_messages_per_partition
        self.max_message_bytes = max_message_bytes
        self.ensure_topics(topics)

    # --- Bus port ---------------------------------------------------------------------

    def ensure_topics(self, topics: Iterable[Topic]) -> None:
        with self._cond:
            for t in topics:
                if t.partitions < 1:
                    raise ValueError(f"topic {t.name!r} needs at least one partition")
                if t.name not in self._logs:
                    self._logs[t.name] = [_Log() for _ in range(t.partitions)]
                    limit = t.config.get("max.message.bytes")
                    self._max_bytes[t.name] = (
                        int(limit) if limit is not None else self.max_message_bytes
                    )
                    if "compact" in t.config.get("cleanup.policy", ""):
                        self._compacted.add(t.name)

    def publisher(self) -> InProcessPublisher:
        return InProcessPublisher(self)

    def consumer(
        self, group_id: str, topics: Sequence[str], *, from_end: bool = False
    ) -> InProcessConsumer:
        with self._cond:
            unknown = [t for t in topics if t not in self._logs]
            if unknown:
                raise ConsumeError(f"unknown topics {unknown}; create them with ensure_topics")
            consumer = InProcessConsumer(self, group_id, tuple(topics))
            group = self._groups.setdefault(group_id, _Group())
            if from_end:  # where a partition has no commit, start at its end (as of now)
                for t in topics:
                    for p, part in enumerate(self._logs[t]):
                        group.committed.setdefault((t, p), part.end)
            group.members.append(consumer)
            group.generation += 1
            return consumer

    # --- used by the publisher and consumer -------------------------------------------

    def _append(self, topic: str, key: str, value: bytes) -> None:
        partitions = self._logs.get(topic)
        if partitions is None:
            raise DeliveryError(
                [DeliveryFailure(topic, key, "topic does not exist", "UNKNOWN_TOPIC", False)]
            )
        limit = self._max_bytes[topic]
        if len(value) > limit:
            raise DeliveryError(
                [
                    DeliveryFailure(
                        topic,
                        key,
                        f"message of {len(value)} bytes exceeds {limit}",
                        "MSG_SIZE_TOO_LARGE",
                        False,
                    )
                ]
            )
        p = hash(key) % len(partitions)
        with self._cond:
            part = partitions[p]
            part.messages.append(InProcessMessage(topic, p, part.end, key.encode(), value))
            if len(part.messages) >= 2 * self._retain and topic not in self._compacted:
                drop = len(part.messages) - self._retain
                del part.messages[:drop]
                part.start += drop
            self._cond.notify_all()

    def _leave(self, consumer: InProcessConsumer) -> None:
        with self._cond:
            group = self._groups[consumer.group_id]
            if consumer in group.members:
                group.members.remove(consumer)
                group.generation += 1


class InProcessPublisher:
    """``Publisher`` over an ``InProcessBus``; a message is visible as soon as published."""

    def __init__(self, bus: InProcessBus) -> None:
        self._bus = bus
        self._closed = False

    def publish(self, topic: str, key: str, value: bytes) -> None:
        if self._closed:
            raise RuntimeError("publisher is closed")
        self._bus._append(topic, key, value)

    def flush(self, timeout: float = 30.0) -> None:
        """Nothing is buffered: failures were raised by ``publish`` itself."""

    def close(self) -> None:
        self._closed = True


class InProcessConsumer:
    """``Consumer`` in a group of an ``InProcessBus`` (created by ``InProcessBus.consumer``)."""

    def __init__(self, bus: InProcessBus, group_id: str, topics: tuple[str, ...]) -> None:
        self._bus = bus
        self.group_id = group_id
        self.topics = topics
        self._generation = -1
        self._positions: dict[_TopicPartition, int] = {}
        self._order: list[_TopicPartition] = []
        self._next = 0
        self._closed = False
        self.lost = 0

    def _rebalance(self, group: _Group) -> None:
        """Take this member's share of partitions, starting each at the committed offset."""
        everything = [(t, p) for t in self.topics for p in range(len(self._bus._logs[t]))]
        me = group.members.index(self)
        n = len(group.members)
        self._order = [tp for i, tp in enumerate(everything) if i % n == me]
        self._positions = {
            tp: group.committed.get(tp, self._bus._logs[tp[0]][tp[1]].start) for tp in self._order
        }
        self._generation = group.generation

    def poll(self, max_messages: int = 1000, timeout: float = 1.0) -> list[InProcessMessage]:
        if self._closed:
            raise ConsumeError("consumer is closed")
        deadline = time.monotonic() + timeout
        cond = self._bus._cond
        with cond:
            while True:
                group = self._bus._groups[self.group_id]
                if group.generation != self._generation:
                    self._rebalance(group)
                batch = self._take(max_messages)
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0:
                    return batch
                cond.wait(remaining)

    def _take(self, max_messages: int) -> list[InProcessMessage]:
        batch: list[InProcessMessage] = []
        order = self._order
        if not order:
            return batch
        logs = self._bus._logs
        for i in range(len(order)):
            tp = order[(self._next + i) % len(order)]
            part = logs[tp[0]][tp[1]]
            pos = self._positions[tp]
            if pos < part.start:
                skipped = part.start - pos
                self.lost += skipped
                log.warning(
                    "consumer group %s fell behind retention on %s[%d]: skipped %d messages",
                    self.group_id,
                    tp[0],
                    tp[1],
                    skipped,
                )
                pos = part.start
            want = max_messages - len(batch)
            chunk = part.messages[pos - part.start : pos - part.start + want]
            if chunk:
                batch.extend(chunk)
                self._positions[tp] = pos + len(chunk)
            if len(batch) >= max_messages:
                break
        self._next = (self._next + 1) % len(order)
        return batch

    def commit(self, offsets: Mapping[tuple[str, int], int] | None = None) -> None:
        with self._bus._cond:
            group = self._bus._groups[self.group_id]
            if self._generation != group.generation:
                raise CommitError(
                    f"group {self.group_id!r} rebalanced since the last poll; "
                    "uncommitted messages will be redelivered"
                )
            if offsets is None:
                group.committed.update(self._positions)
            else:
                group.committed.update({tp: last + 1 for tp, last in offsets.items()})

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus._leave(self)
