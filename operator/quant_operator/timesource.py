"""Where the operator's "now" comes from: the wall clock, an accelerated clock, or a ConfigMap.

The reconciler awaits ``TimeSource.now_ns(namespace)`` once per reconcile and hands the
instant to the pure phase machine. ``accelerated`` runs a simulated day from a start
instant at a speed factor; ``configmap`` lets a test (or a rehearsal) set the instant
by writing ``data.now`` of a ConfigMap in the TradingDay's namespace. Chosen from
:class:`~quant_operator.settings.ClockSettings` by :func:`build_time_source`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from quant.core.clock import Clock, SystemClock, datetime_to_ns
from quant_operator.kube import KubeApi, KubeError, configmap_path
from quant_operator.settings import ClockSettings


class TimeSource(Protocol):
    async def now_ns(self, namespace: str) -> int:
        """Current instant (UTC ns) as seen by TradingDays in ``namespace``."""
        ...


class ClockTimeSource:
    """Any :class:`quant.core.clock.Clock` (the system clock, a ``FakeClock``)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def now_ns(self, namespace: str) -> int:
        return self._clock.now_ns()


class AcceleratedClock:
    """A day clock starting at ``start_ns`` that runs ``speed`` times faster than real time."""

    def __init__(
        self, start_ns: int, speed: float, monotonic_ns: Callable[[], int] = time.monotonic_ns
    ) -> None:
        self._start = start_ns
        self._speed = speed
        self._monotonic = monotonic_ns
        self._t0 = monotonic_ns()

    def now_ns(self) -> int:
        return self._start + int((self._monotonic() - self._t0) * self._speed)


class ConfigMapTimeSource:
    """Reads ``data.now`` (RFC 3339 with offset) from a ConfigMap at every call."""

    def __init__(self, kube: KubeApi, name: str) -> None:
        self._kube = kube
        self._name = name

    async def now_ns(self, namespace: str) -> int:
        cm = await self._kube.get(configmap_path(namespace, self._name))
        raw = ((cm or {}).get("data") or {}).get("now")
        if not raw:
            raise KubeError(404, f"clock ConfigMap {namespace}/{self._name} has no data.now")
        try:
            value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            return datetime_to_ns(value)
        except ValueError as e:
            raise KubeError(422, f"clock ConfigMap {namespace}/{self._name}: {e}") from e


def build_time_source(settings: ClockSettings, kube: KubeApi) -> TimeSource:
    if settings.mode == "configmap":
        return ConfigMapTimeSource(kube, settings.configmap)
    if settings.mode == "accelerated" and settings.start is not None:
        clock = AcceleratedClock(datetime_to_ns(settings.start), settings.speed)
        return ClockTimeSource(clock)
    return ClockTimeSource(SystemClock())
