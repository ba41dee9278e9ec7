"""In-process bus specifics: group splitting, rebalance, retention bound, blocking poll."""

from __future__ import annotations

import threading

import pytest

from quant.bus.errors import CommitError, ConsumeError
from quant.bus.inprocess import InProcessBus
from quant.bus.topics import ALL_TOPICS, CONTROL, TICKS, Topic

T = Topic("t", partitions=4, retention_ms=3_600_000)


def test_default_bus_has_every_registered_topic() -> None:
    bus = InProcessBus()
    c = bus.consumer("g", [t.name for t in ALL_TOPICS])
    assert c.poll(timeout=0) == []


def test_two_members_of_a_group_split_the_partitions() -> None:
    bus = InProcessBus([T])
    pub = bus.publisher()
    for i in range(400):
        pub.publish("t", f"k{i}", str(i).encode())
    a = bus.consumer("g", ["t"])
    b = bus.consumer("g", ["t"])
    got_a = a.poll(max_messages=1000, timeout=0)
    got_b = b.poll(max_messages=1000, timeout=0)
    assert len(got_a) + len(got_b) == 400
    assert {m.partition() for m in got_a}.isdisjoint({m.partition() for m in got_b})


def test_commit_after_a_rebalance_is_refused_and_messages_are_redelivered() -> None:
    bus = InProcessBus([T])
    pub = bus.publisher()
    for i in range(100):
        pub.publish("t", f"k{i}", b"v")
    a = bus.consumer("g", ["t"])
    assert len(a.poll(max_messages=1000, timeout=0)) == 100
    b = bus.consumer("g", ["t"])  # joins: the group rebalances
    with pytest.raises(CommitError):
        a.commit()
    got = a.poll(max_messages=1000, timeout=0) + b.poll(max_messages=1000, timeout=0)
    assert len(got) == 100


def test_retention_bounds_memory_and_a_lagging_consumer_counts_the_loss() -> None:
    bus = InProcessBus([Topic("t", 1, 3_600_000)], max_messages_per_partition=100)
    c = bus.consumer("g", ["t"])
    assert c.poll(timeout=0) == []  # joined, positioned at offset 0
    pub = bus.publisher()
    for i in range(1000):
        pub.publish("t", "k", str(i).encode())
    got = c.poll(max_messages=10_000, timeout=0)
    assert 100 <= len(got) < 200
    assert got[-1].value() == b"999"
    assert c.lost == 1000 - len(got)
    assert [m.offset() for m in got] == list(range(1000 - len(got), 1000))


def test_a_compacted_topic_is_state_and_never_trimmed() -> None:
    bus = InProcessBus([CONTROL, TICKS], max_messages_per_partition=10)
    pub = bus.publisher()
    for i in range(100):
        pub.publish(CONTROL.name, f"subscription/NSE_EQ|K{i}", str(i).encode())
        pub.publish(TICKS.name, "k", str(i).encode())
    fresh = bus.consumer("new", [CONTROL.name])
    got = fresh.poll(max_messages=1000, timeout=0)
    assert [m.value() for m in got] == [str(i).encode() for i in range(100)]
    assert fresh.lost == 0
    ticks = bus.consumer("new-ticks", [TICKS.name]).poll(max_messages=1000, timeout=0)
    assert len(ticks) < 100  # events still bounded


def test_poll_blocks_until_a_publish_from_another_thread() -> None:
    bus = InProcessBus([TICKS])
    c = bus.consumer("g", [TICKS.name])
    timer = threading.Timer(0.05, lambda: bus.publisher().publish(TICKS.name, "k", b"late"))
    timer.start()
    try:
        got = c.poll(timeout=5.0)
    finally:
        timer.join()
    assert [m.value() for m in got] == [b"late"]


def test_closed_consumer_and_unknown_topic_subscription_raise() -> None:
    bus = InProcessBus([T])
    with pytest.raises(ConsumeError):
        bus.consumer("g", ["nope"])
    c = bus.consumer("g", ["t"])
    c.close()
    with pytest.raises(ConsumeError):
        c.poll(timeout=0)


def test_a_consumer_from_the_end_sees_only_what_comes_after_it() -> None:
    bus = InProcessBus([T])
    pub = bus.publisher()
    for i in range(10):
        pub.publish("t", f"k{i}", b"old")
    latest = bus.consumer("fresh", ["t"], from_end=True)
    assert latest.poll(timeout=0) == []
    pub.publish("t", "k1", b"new")
    assert [m.value() for m in latest.poll(timeout=0)] == [b"new"]
    # a group that has committed resumes from its commit, from_end or not
    earliest = bus.consumer("other", ["t"])
    assert len(earliest.poll(max_messages=100, timeout=0)) == 11
