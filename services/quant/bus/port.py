"""The event-bus port: what services need from a bus, as small ``typing.Protocol``s.

Services (ingestor, features, scanner, execution, gateway) depend on these and get a
``KafkaBus`` or an ``InProcessBus`` from their composition root. Semantics every adapter
honours (checked by ``tests/unit/bus`` and ``tests/integration/bus`` contract suites):

* ``Publisher.publish(topic, key, value)`` queues one keyed message (key =
  ``instrument_key``, so one instrument stays ordered on one partition). It may raise
  ``DeliveryError`` for an earlier message that failed; ``flush()`` waits for every
  queued message and raises ``DeliveryError`` if any failed. Failures are never dropped.
* ``Consumer.poll(max_messages, timeout)`` returns a batch (possibly empty) of
  ``Received`` messages from the consumer's group assignment. ``commit()`` synchronously
  commits the position after every message returned so far; a consumer that stops and a
  new one in the same group resume from the last commit (uncommitted ones are redelivered,
  none are lost). A group that has never committed starts from the earliest message, or,
  made with ``from_end=True``, at the end of the log (only what is published from then
  on: e.g. the execution service's "latest quote" view of the ticks).
* These calls block (up to ``timeout``); asyncio services run them with
  ``asyncio.to_thread`` or poll with ``timeout=0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from quant.bus.topics import Topic


class Received(Protocol):
    """One consumed message. ``confluent_kafka.Message`` provides the same accessors
    (its stubs say ``Optional`` because error events share the type; the Kafka adapter
    never returns those, and our publishers always set a key and a bytes value).
    """

    def topic(self) -> str: ...
    def partition(self) -> int: ...
    def offset(self) -> int: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes: ...


class Publisher(Protocol):
    def publish(self, topic: str, key: str, value: bytes) -> None:
        """Queue one message; raises ``DeliveryError`` if an earlier one failed."""
        ...

    def flush(self, timeout: float = 30.0) -> None:
        """Deliver everything queued; raises ``DeliveryError`` on any failure or timeout."""
        ...

    def close(self) -> None:
        """Flush and release the connection."""
        ...


class Consumer(Protocol):
    def poll(self, max_messages: int = 1000, timeout: float = 1.0) -> Sequence[Received]:
        """Up to ``max_messages`` messages, waiting at most ``timeout`` seconds for the first."""
        ...

    def commit(self, offsets: Mapping[tuple[str, int], int] | None = None) -> None:
        """Commit the position after every message returned by ``poll`` so far; or, given
        ``offsets`` ((topic, partition) -> last processed offset), the position after
        each of those (safe to call from another thread than ``poll``'s)."""
        ...

    def close(self) -> None:
        """Leave the group (uncommitted messages will be redelivered to the next member)."""
        ...


class Bus(Protocol):
    """Factory of publishers and consumers over one cluster (or one process)."""

    def ensure_topics(self, topics: Iterable[Topic]) -> None:
        """Create missing topics from the registry; existing ones are left alone."""
        ...

    def publisher(self) -> Publisher: ...

    def consumer(
        self, group_id: str, topics: Sequence[str], *, from_end: bool = False
    ) -> Consumer: ...
