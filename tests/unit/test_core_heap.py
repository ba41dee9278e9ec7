"""freeze_startup_heap: what is alive at start-up leaves the collected generations."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from quant.runtime.heap import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # later tests see the collector as usual


def tracked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_live_objects_are_frozen_and_cyclic_garbage_is_collected_first(unfrozen: None) -> None:
    kept = {"instrument": ["NSE_EQ|INE002A01018"]}
    cycle: list[object] = []
    cycle.append(cycle)  # garbage only the cyclic collector frees
    collected: list[int] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            collected.append(info["collected"])

    del cycle
    gc.callbacks.append(on_gc)
    try:
        frozen = freeze_startup_heap()
    finally:
        gc.callbacks.remove(on_gc)

    assert sum(collected) >= 1  # the cycle was freed, not frozen
    assert frozen == gc.get_freeze_count() > 0
    assert not tracked(kept)  # in the permanent generation: no GC pass walks it
    after = {"new": [1]}  # allocated after start-up: collected as before
    assert tracked(after)


def test_a_full_collection_no_longer_walks_the_start_up_heap(unfrozen: None) -> None:
    heap = [[i] for i in range(50_000)]  # a start-up heap (like an instrument master)
    before = len(gc.get_objects())
    freeze_startup_heap()
    assert len(gc.get_objects()) < before - len(heap)
