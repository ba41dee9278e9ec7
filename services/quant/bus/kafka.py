"""Kafka adapter of the bus port on confluent-kafka (librdkafka).

Built by a service's composition root: ``KafkaBus(bootstrap_servers, client_id=...)`` or
``KafkaBus.from_settings(KafkaSettings)``; call ``ensure_topics(ALL_TOPICS)`` at start-up.

* Producer: idempotent, ``acks=all``, lz4 batches with a short linger, delivery reports
  only for failures (``delivery.report.only.error``), broker-side topic auto-creation
  off. A failed delivery is recorded by the callback and raised as ``DeliveryError``
  from the next ``publish`` or from ``flush`` -- never swallowed. A full local queue
  applies back-pressure (serve callbacks and retry) up to ``queue_full_timeout``.
* Consumer: group member with ``enable.auto.commit=false``; ``commit()`` is synchronous
  and commits the positions of everything ``poll`` has returned; a new group starts at
  the earliest offset. Message-level errors raise ``ConsumeError``.
* ``ensure_topics`` creates the registry's topics with ``AdminClient`` (idempotent); on a
  topic that exists already it sets the registry's extra configs (``Topic.config``, e.g.
  ``cleanup.policy=compact`` on ``control.commands``), so an upgrade takes them too.
* ``close()`` stops a client's librdkafka threads (a consumer leaves its group at once).
  At interpreter exit every client still open is closed, with a warning: a librdkafka
  thread still running while the process tears down can crash it (seen once in CI).

Extra librdkafka settings can be passed as ``producer_config``/``consumer_config``; the
benchmarks reuse ``producer_settings``/``consumer_settings`` to drive raw confluent-kafka
with identical configs.
"""

from __future__ import annotations

import atexit
import logging
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from confluent_kafka import Consumer as _RawConsumer
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka import Producer as _RawProducer
from confluent_kafka.admin import AdminClient

# re-exported by confluent_kafka.admin without an explicit export mypy accepts
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.cimpl import NewTopic

from quant.bus.errors import (
    BusError,
    BusUnavailable,
    CommitError,
    ConsumeError,
    DeliveryError,
    DeliveryFailure,
)
from quant.bus.port import Received
from quant.bus.settings import KafkaSettings
from quant.bus.topics import Topic

log = logging.getLogger(__name__)
_librdkafka_log = logging.getLogger("quant.bus.librdkafka")  # librdkafka's own log lines
_silent = logging.getLogger("quant.bus.librdkafka.probe")  # a start-up probe's: dropped
_silent.propagate = False
_silent.addHandler(logging.NullHandler())

PRODUCER_DEFAULTS: Mapping[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 1,
    "socket.nagle.disable": True,  # small requests go out at once (no Nagle delay)
    "batch.num.messages": 10_000,
    "batch.size": 1_000_000,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 262_144,
    "delivery.report.only.error": True,
    "allow.auto.create.topics": False,
}
CONSUMER_DEFAULTS: Mapping[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": True,
    "auto.offset.reset": "earliest",
    "enable.partition.eof": False,
    "allow.auto.create.topics": False,
    "session.timeout.ms": 10_000,
    "fetch.wait.max.ms": 50,
    "socket.nagle.disable": True,
}
_POLL_EVERY = 1024  # serve delivery callbacks every this many publishes


def producer_settings(
    bootstrap_servers: str, client_id: str, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The producer's librdkafka config (without callbacks)."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "client.id": client_id,
        **PRODUCER_DEFAULTS,
        **(overrides or {}),
    }


def consumer_settings(
    bootstrap_servers: str,
    client_id: str,
    group_id: str,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The consumer's librdkafka config (without callbacks)."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "client.id": client_id,
        "group.id": group_id,
        **CONSUMER_DEFAULTS,
        **(overrides or {}),
    }


def _failure(err: KafkaError, topic: str, key: str | None) -> DeliveryFailure:
    return DeliveryFailure(topic, key, err.str(), err.name(), bool(err.retriable()))


class KafkaBus:
    """``Bus`` on a Kafka cluster. No I/O happens until a method is called."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "quant",
        producer_config: Mapping[str, Any] | None = None,
        consumer_config: Mapping[str, Any] | None = None,
        admin_timeout: float = 30.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self._producer_config = dict(producer_config or {})
        self._consumer_config = dict(consumer_config or {})
        self._admin_timeout = admin_timeout

    @classmethod
    def from_settings(
        cls, settings: KafkaSettings, *, consumer_config: Mapping[str, Any] | None = None
    ) -> KafkaBus:
        return cls(
            settings.bootstrap_servers,
            client_id=settings.client_id,
            consumer_config=consumer_config,
        )

    def check(self, timeout: float = 10.0) -> None:
        """Ask the brokers for their metadata; :class:`BusUnavailable` naming the
        bootstrap servers if none answers within ``timeout`` s (librdkafka's own
        connection-refused lines are not logged: the error says it once)."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "log_level": 0,
            "logger": _silent,
        }
        admin = AdminClient(config)
        try:
            admin.list_topics(timeout=timeout)
        except KafkaException as e:
            raise BusUnavailable(
                f"Kafka is not reachable at {self.bootstrap_servers} (no answer in "
                f"{timeout:.0f} s): start it (`quant dev infra up` runs one on this machine) "
                "or set QUANT_KAFKA__BOOTSTRAP_SERVERS"
            ) from e

    def ensure_topics(self, topics: Iterable[Topic]) -> None:
        wanted = list(topics)
        if not wanted:
            return
        admin = AdminClient(
            {"bootstrap.servers": self.bootstrap_servers, "client.id": self.client_id}
        )
        new = [
            NewTopic(t.name, num_partitions=t.partitions, config=t.kafka_config()) for t in wanted
        ]
        futures = admin.create_topics(
            new, operation_timeout=self._admin_timeout, request_timeout=self._admin_timeout
        )
        existing = []
        for name, future in futures.items():
            try:
                future.result(timeout=self._admin_timeout)
                log.info("created topic %s", name)
            except KafkaException as e:
                err = e.args[0]
                if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    existing.append(name)
                    continue
                raise BusError(f"cannot create topic {name!r}: {e}") from e
        by_name = {t.name: t for t in wanted}
        self._set_configs(admin, [by_name[n] for n in existing if by_name[n].config])

    def _set_configs(self, admin: AdminClient, existing: Sequence[Topic]) -> None:
        """Set each existing topic's extra configs (retention is left to the operator)."""
        if not existing:
            return
        resources = [
            ConfigResource(
                ConfigResource.Type.TOPIC,
                t.name,
                incremental_configs=[
                    ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                    for k, v in t.config.items()
                ],
            )
            for t in existing
        ]
        futures = admin.incremental_alter_configs(resources, request_timeout=self._admin_timeout)
        for resource, future in futures.items():
            try:
                future.result(timeout=self._admin_timeout)
            except KafkaException as e:
                raise BusError(f"cannot set the configs of topic {resource.name!r}: {e}") from e

    def publisher(self) -> KafkaPublisher:
        return KafkaPublisher(
            producer_settings(self.bootstrap_servers, self.client_id, self._producer_config)
        )

    def consumer(
        self, group_id: str, topics: Sequence[str], *, from_end: bool = False
    ) -> KafkaConsumer:
        overrides = dict(self._consumer_config)
        if from_end:  # a group without a commit starts at the end of each partition
            overrides["auto.offset.reset"] = "latest"
        return KafkaConsumer(
            consumer_settings(self.bootstrap_servers, self.client_id, group_id, overrides),
            topics,
        )


class KafkaPublisher:
    """``Publisher`` on a confluent-kafka ``Producer`` (see the module docstring)."""

    def __init__(self, config: Mapping[str, Any], *, queue_full_timeout: float = 30.0) -> None:
        self._failures: list[DeliveryFailure] = []
        self._queue_full_timeout = queue_full_timeout
        self._producer = _RawProducer(
            {
                **config,
                "on_delivery": self._on_delivery,
                "error_cb": self._on_error,
                "logger": _librdkafka_log,
            }
        )
        self._produce = self._producer.produce
        self._count = 0
        self._closed = False
        _open_clients.add(self)

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            key = msg.key()
            self._failures.append(
                _failure(err, msg.topic() or "", key.decode() if isinstance(key, bytes) else key)
            )

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._failures.append(_failure(err, "", None))
        else:
            log.warning("kafka producer: %s", err.str())

    def _raise_failures(self) -> None:
        failures, self._failures = self._failures, []
        raise DeliveryError(failures)

    def publish(self, topic: str, key: str, value: bytes) -> None:
        if self._failures:
            self._raise_failures()
        try:
            self._produce(topic, value, key)
        except BufferError:
            self._produce_when_room(topic, key, value)
        except KafkaException as e:
            raise DeliveryError([_failure(e.args[0], topic, key)]) from e
        except RuntimeError as e:  # confluent-kafka: "Producer has been closed"
            raise BusError(f"cannot publish to {topic!r}: the publisher is closed") from e
        self._count += 1
        if not self._count % _POLL_EVERY:
            self._producer.poll(0)

    def _produce_when_room(self, topic: str, key: str, value: bytes) -> None:
        deadline = time.monotonic() + self._queue_full_timeout
        while True:
            self._producer.poll(0.05)
            if self._failures:
                self._raise_failures()
            try:
                self._produce(topic, value, key)
                return
            except BufferError:
                if time.monotonic() > deadline:
                    raise DeliveryError(
                        [
                            DeliveryFailure(
                                topic, key, "local producer queue stayed full", "QUEUE_FULL", True
                            )
                        ]
                    ) from None
            except KafkaException as e:
                raise DeliveryError([_failure(e.args[0], topic, key)]) from e

    def flush(self, timeout: float = 30.0) -> None:
        if self._closed:
            return  # close() delivered everything or raised
        remaining = self._producer.flush(timeout)
        if self._failures:
            self._raise_failures()
        if remaining:
            raise DeliveryError(
                [
                    DeliveryFailure(
                        "", None, f"{remaining} messages undelivered after {timeout}s",
                        "FLUSH_TIMEOUT", True,
                    )
                ]
            )  # fmt: skip

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what is queued (raises if that fails), then stop the producer's threads."""
        if self._closed:
            return
        try:
            self.flush(timeout)
        finally:
            self._closed = True
            _open_clients.discard(self)
            self._producer.purge()  # whatever a failed flush left: close must not wait on it
            self._producer.close()


class KafkaConsumer:
    """``Consumer`` on a confluent-kafka ``Consumer`` subscribed to ``topics``."""

    def __init__(self, config: Mapping[str, Any], topics: Sequence[str]) -> None:
        self._consumer = _RawConsumer(
            {**config, "error_cb": self._on_error, "logger": _librdkafka_log}
        )
        self._consumer.subscribe(list(topics))
        self._consume = self._consumer.consume
        self._poll_one = self._consumer.poll
        self._fatal: KafkaError | None = None
        self._closed = False
        _open_clients.add(self)

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
        else:
            log.warning("kafka consumer: %s", err.str())

    def poll(self, max_messages: int = 1000, timeout: float = 1.0) -> list[Received]:
        if self._fatal is not None:
            raise ConsumeError(f"fatal consumer error: {self._fatal.str()}")
        try:
            # librdkafka's batch consume waits until the batch is full or the timeout has
            # passed, which would hold every message up to ``timeout``. So: take what is
            # already fetched; if nothing is, wait for the first message alone, then take
            # the rest that arrived with it. Latency is one fetch, not one poll timeout.
            batch: list[Message] = self._consume(num_messages=max_messages, timeout=0)
            if not batch and timeout > 0:
                first = self._poll_one(timeout)
                if first is None:
                    return []
                batch = [first]
                if max_messages > 1:
                    batch.extend(self._consume(num_messages=max_messages - 1, timeout=0))
        except KafkaException as e:
            raise ConsumeError(str(e)) from e
        for m in batch:
            if m.error() is not None:
                batch = self._without_errors(batch)
                break
        # error events are gone: every message has a topic, partition, offset and value
        return cast("list[Received]", batch)

    @staticmethod
    def _without_errors(batch: list[Message]) -> list[Message]:
        good = []
        for m in batch:
            err = m.error()
            if err is None:
                good.append(m)
            elif err.code() != KafkaError._PARTITION_EOF:
                raise ConsumeError(f"{m.topic()}[{m.partition()}]: {err.name()}: {err.str()}")
        return good

    def commit(self, offsets: Mapping[tuple[str, int], int] | None = None) -> None:
        try:
            if offsets is None:
                self._consumer.commit(asynchronous=False)
            else:
                positions = [TopicPartition(t, p, last + 1) for (t, p), last in offsets.items()]
                if positions:
                    self._consumer.commit(offsets=positions, asynchronous=False)
        except KafkaException as e:
            err = e.args[0]
            if isinstance(err, KafkaError) and err.code() == KafkaError._NO_OFFSET:
                return  # nothing consumed since the last commit
            raise CommitError(f"commit failed: {e}") from e

    def close(self) -> None:
        """Leave the group and stop the consumer's threads (nothing is committed here)."""
        if not self._closed:
            self._closed = True
            _open_clients.discard(self)
            self._consumer.close()


_open_clients: weakref.WeakSet[KafkaPublisher | KafkaConsumer] = weakref.WeakSet()


@atexit.register
def _close_at_exit() -> None:
    """Close the clients nobody closed, while the interpreter is still whole."""
    for client in list(_open_clients):
        log.warning("a Kafka %s was not closed; closing it at exit", type(client).__name__)
        try:
            if isinstance(client, KafkaPublisher):
                client.close(timeout=2.0)
            else:
                client.close()
        except Exception as e:  # at exit: report, and go on with the others
            log.warning("closing it failed: %s", e)
