"""Keep a long-running service's start-up heap out of the cyclic GC's full passes.

A hot-path process (ingestor, feature engine) imports ~100k long-lived objects (modules,
functions, protobuf descriptors, the instrument master). Python's generation-2 pass walks
all of them: ~35 ms on an idle core here, 50-60 ms under load, about every two seconds at
10k ticks/s, and every tick in flight waits for it. Once start-up is done, freezing moves
them to the permanent generation, which the collector never scans; what the service
allocates afterwards is collected as before, and :class:`HeapKeeper` keeps freezing what
survives while the service runs.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect once, then freeze every object still alive; returns how many are frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("froze %d start-up objects out of the cyclic GC", frozen)
    return frozen


class GcPort(Protocol):
    """The part of :mod:`gc` a :class:`HeapKeeper` drives (the module itself, or a fake)."""

    def freeze(self) -> None: ...
    def unfreeze(self) -> None: ...
    def collect(self, generation: int = 2) -> int: ...


class HeapKeeper:
    """Keep what a busy service allocates out of the cyclic GC's full passes, too.

    Frozen once at start-up, the heap still grows with the day's state (orders, fills,
    positions, metrics children): every few seconds a generation-2 pass walks all of it,
    tens of milliseconds on a loaded core while intents wait. Called from the service's
    timer, :meth:`on_timer` freezes whatever survived every ``freeze_every_s`` (an O(1)
    list move; the young generations still collect the short-lived garbage on their own
    schedule, and reference counting frees everything acyclic, frozen or not), so a full
    pass finds almost nothing to walk. What is frozen and later becomes a reference cycle
    is only reclaimed by the full pass this keeper runs when the service has been idle
    for ``idle_s`` (no :meth:`touch`) and ``full_every_s`` have passed since the last
    one: unfreeze, collect everything, freeze again, at a moment no intent waits on it.
    """

    def __init__(
        self,
        *,
        freeze_every_s: float = 1.0,
        full_every_s: float = 900.0,
        idle_s: float = 2.0,
        now: Callable[[], float] = time.monotonic,
        collector: GcPort | None = None,
    ) -> None:
        self._every = freeze_every_s
        self._full_every = full_every_s
        self._idle = idle_s
        self._now = now
        self._gc: GcPort = collector if collector is not None else gc
        start = now()
        self._last_freeze = start
        self._last_full = start
        self._last_activity = start
        self.full_passes = 0
        self.freezes = 0

    def touch(self) -> None:
        """The service did work that a pause would have delayed (an intent came)."""
        self._last_activity = self._now()

    def on_timer(self) -> str | None:
        """Freeze or run the idle full pass when due; returns what it did."""
        if self._every <= 0:
            return None
        now = self._now()
        if now - self._last_full >= self._full_every and now - self._last_activity >= self._idle:
            self._gc.unfreeze()
            self._gc.collect()
            self._gc.freeze()
            self._last_full = self._last_freeze = now
            self.full_passes += 1
            return "full"
        if now - self._last_freeze >= self._every:
            self._gc.freeze()
            self._last_freeze = now
            self.freezes += 1
            return "freeze"
        return None
