"""HeapKeeper: periodic freezes while busy, the full pass only when idle and due."""

from __future__ import annotations

import gc

from quant.runtime.heap import HeapKeeper


class FakeGc:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def freeze(self) -> None:
        self.calls.append("freeze")

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")

    def collect(self, generation: int = 2) -> int:
        self.calls.append(f"collect{generation}")
        return 0


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def keeper(clock: Clock, fake: FakeGc, every: float = 1.0) -> HeapKeeper:
    return HeapKeeper(
        freeze_every_s=every, full_every_s=60.0, idle_s=2.0, now=clock, collector=fake
    )


def test_freezes_once_per_interval() -> None:
    clock, fake = Clock(), FakeGc()
    k = keeper(clock, fake)
    assert k.on_timer() is None  # nothing due yet
    clock.t += 0.5
    assert k.on_timer() is None
    clock.t += 0.6
    assert k.on_timer() == "freeze"
    clock.t += 0.1
    assert k.on_timer() is None
    assert fake.calls == ["freeze"]


def test_full_pass_waits_for_idle() -> None:
    clock, fake = Clock(), FakeGc()
    k = keeper(clock, fake)
    for _ in range(70):  # busy for 70 s: intents every second
        clock.t += 1.0
        k.touch()
        assert k.on_timer() == "freeze"
    assert "collect2" not in fake.calls
    clock.t += 2.5  # 2.5 s with no intent, and the full pass is overdue
    assert k.on_timer() == "full"
    assert fake.calls[-3:] == ["unfreeze", "collect2", "freeze"]
    clock.t += 1.0
    assert k.on_timer() == "freeze"  # the next full pass is 60 s away
    assert k.full_passes == 1


def test_zero_interval_disables_it() -> None:
    clock, fake = Clock(), FakeGc()
    k = keeper(clock, fake, every=0.0)
    clock.t += 1000.0
    assert k.on_timer() is None
    assert fake.calls == []


def test_the_real_collector_keeps_frozen_objects_out_of_a_full_pass() -> None:
    before = gc.get_freeze_count()
    clock = Clock()
    k = HeapKeeper(freeze_every_s=1.0, now=clock)
    try:
        survivors = [[i] for i in range(1000)]  # tracked containers that outlive the freeze
        clock.t += 1.5
        assert k.on_timer() == "freeze"
        assert gc.get_freeze_count() >= before + 1000
        assert all(s for s in survivors)
    finally:
        gc.unfreeze()
