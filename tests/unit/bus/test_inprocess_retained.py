"""In-process bus with a ``RetainedLog``: compacted topics outlive the bus, others do not."""

from __future__ import annotations

import itertools

import pytest

from quant.bus.errors import DeliveryError
from quant.bus.inprocess import InProcessBus
from quant.bus.topics import CONTROL, TICKS, Topic


class FakeRetainedLog:
    """Latest record per (topic, key) in a dict, in the order of the last put."""

    def __init__(self, fail: bool = False) -> None:
        self.records: dict[tuple[str, str], bytes] = {}
        self.puts: list[tuple[str, str, bytes]] = []
        self.fail = fail

    def load(self) -> list[tuple[str, str, bytes]]:
        return [(t, k, v) for (t, k), v in self.records.items()]

    def put(self, topic: str, key: str, value: bytes) -> None:
        if self.fail:
            raise OSError("disk full")
        self.puts.append((topic, key, value))
        self.records.pop((topic, key), None)  # re-inserted last: the order of last writes
        self.records[(topic, key)] = value


_groups = itertools.count()


def _read_all(bus: InProcessBus, topic: str) -> list[tuple[bytes, bytes]]:
    """Everything on ``topic``, read from the start by a new consumer group."""
    got = bus.consumer(f"reader-{next(_groups)}", [topic]).poll(max_messages=1000, timeout=0)
    return [(m.key(), m.value()) for m in got]


def test_a_new_bus_starts_with_the_latest_record_per_key_of_compacted_topics() -> None:
    store = FakeRetainedLog()
    bus = InProcessBus([CONTROL, TICKS], retained=store)
    pub = bus.publisher()
    pub.publish(CONTROL.name, "killswitch/account", b"halt")
    pub.publish(CONTROL.name, "subscription/A", b"add")
    pub.publish(CONTROL.name, "killswitch/account", b"resume")
    pub.publish(CONTROL.name, "killswitch/account", b"halt again")
    pub.publish(TICKS.name, "A", b"tick")
    # the running bus keeps every message, as before
    assert len(_read_all(bus, CONTROL.name)) == 4

    again = InProcessBus([CONTROL, TICKS], retained=store)
    assert _read_all(again, CONTROL.name) == [
        (b"subscription/A", b"add"),
        (b"killswitch/account", b"halt again"),
    ]
    assert _read_all(again, TICKS.name) == []  # not a compacted topic: not retained
    assert set(store.records) == {
        (CONTROL.name, "killswitch/account"),
        (CONTROL.name, "subscription/A"),
    }


def test_retained_records_come_before_new_messages_and_are_not_written_back() -> None:
    store = FakeRetainedLog()
    store.records[(CONTROL.name, "killswitch/account")] = b"halt"
    bus = InProcessBus([CONTROL], retained=store)
    assert store.puts == []  # loading does not rewrite what was loaded
    bus.publisher().publish(CONTROL.name, "subscription/B", b"add")
    assert _read_all(bus, CONTROL.name) == [
        (b"killswitch/account", b"halt"),
        (b"subscription/B", b"add"),
    ]
    assert store.puts == [(CONTROL.name, "subscription/B", b"add")]


def test_a_compacted_topic_created_later_gets_its_retained_records() -> None:
    state = Topic("state", partitions=2, retention_ms=1, config={"cleanup.policy": "compact"})
    events = Topic("events", partitions=1, retention_ms=1)
    store = FakeRetainedLog()
    store.put("state", "k", b"v")
    store.put("events", "e", b"not compacted here")  # e.g. a topic whose policy changed
    bus = InProcessBus([], retained=store)
    bus.ensure_topics([state, events])
    assert _read_all(bus, "state") == [(b"k", b"v")]
    assert _read_all(bus, "events") == []


def test_a_failed_retain_is_a_retriable_delivery_error_and_nothing_is_published() -> None:
    store = FakeRetainedLog(fail=True)
    bus = InProcessBus([CONTROL, TICKS], retained=store)
    pub = bus.publisher()
    with pytest.raises(DeliveryError) as caught:
        pub.publish(CONTROL.name, "killswitch/account", b"halt")
    assert caught.value.retriable
    assert caught.value.failures[0].code == "RETAIN_FAILED"
    assert "disk full" in str(caught.value)
    assert _read_all(bus, CONTROL.name) == []
    pub.publish(TICKS.name, "A", b"tick")  # other topics never touch the store
    assert _read_all(bus, TICKS.name) == [(b"A", b"tick")]


def test_without_a_retained_log_a_new_bus_starts_empty() -> None:
    InProcessBus([CONTROL]).publisher().publish(CONTROL.name, "killswitch/account", b"halt")
    assert _read_all(InProcessBus([CONTROL]), CONTROL.name) == []
