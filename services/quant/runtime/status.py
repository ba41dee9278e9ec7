"""What each service of a process is doing, for ``/readyz`` and the service metrics.

:class:`StatusBoard` is written by the supervisor (starting, running, failed and waiting
to restart, stopped for good, finished) and read by the health server and by the
gateway's ``/readyz`` (in ``quant up`` the gateway reports the whole process). It is
thread-safe: the health server asks from its own thread.

It also holds the state of the servers the process depends on (:mod:`quant.runtime.probes`
checks them): while one is down the process is not ready, and the reason names it.

Metrics (in the process's registry): ``quant_service_up{service}`` (1 while running),
``quant_service_failures_total{service,kind="retryable"|"fatal"}`` (each retryable
failure is followed by a restart) and ``quant_dependency_up{dependency}``.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from quant.runtime.probes import Dependency
from quant.runtime.service import Readiness, ReportsReadiness, Service

log = logging.getLogger(__name__)


class State(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"  # failed; waiting out its backoff
    FAILED = "failed"  # fatal: not retried
    FINISHED = "finished"  # returned on its own (a one-shot task)
    STOPPED = "stopped"  # returned after stop was set


@dataclass
class _Entry:
    service: Service
    state: State = State.STARTING
    cause: str = ""


@dataclass
class _DependencyState:
    dependency: Dependency
    up: bool = True  # until a check says otherwise
    error: str = ""
    down_since: float = 0.0


class StatusBoard:
    """Per-service state of one process; the aggregate is its readiness."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._dependencies: dict[str, _DependencyState] = {}
        self._monotonic = monotonic
        self._up: Gauge | None = None
        self._failures: Counter | None = None
        self._dependency_up: Gauge | None = None
        if registry is not None:
            self._dependency_up = Gauge(
                "quant_dependency_up",
                "1 while the server answers its probe, 0 while it does not",
                ["dependency"],
                registry=registry,
            )
            self._up = Gauge(
                "quant_service_up", "1 while the service runs", ["service"], registry=registry
            )
            self._failures = Counter(
                "quant_service_failures",
                "Failures of a service, by whether a restart can fix them",
                ["service", "kind"],
                registry=registry,
            )

    def add(self, service: Service) -> None:
        with self._lock:
            if service.name in self._entries:
                raise ValueError(f"two services named {service.name!r}")
            self._entries[service.name] = _Entry(service)
        if self._up is not None:
            self._up.labels(service.name).set(0)

    def set(self, name: str, state: State, cause: str = "") -> None:
        with self._lock:
            entry = self._entries[name]
            entry.state = state
            entry.cause = cause
        if self._up is not None:
            self._up.labels(name).set(1 if state is State.RUNNING else 0)
        if state in (State.RESTARTING, State.FAILED) and self._failures is not None:
            kind = "fatal" if state is State.FAILED else "retryable"
            self._failures.labels(name, kind).inc()

    def state(self, name: str) -> State:
        with self._lock:
            return self._entries[name].state

    def names(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    # --- dependencies ---------------------------------------------------------------

    def watch(self, dependency: Dependency) -> None:
        """Add a server the process needs (checked by ``probes.watch_dependencies``)."""
        with self._lock:
            if dependency.name in self._dependencies:
                raise ValueError(f"two dependencies named {dependency.name!r}")
            self._dependencies[dependency.name] = _DependencyState(dependency)
        if self._dependency_up is not None:
            self._dependency_up.labels(dependency.name).set(1)

    def dependencies(self) -> list[Dependency]:
        with self._lock:
            return [d.dependency for d in self._dependencies.values()]

    def dependency_down(self, name: str, error: str) -> None:
        """Record that ``name`` did not answer (logged once per outage)."""
        with self._lock:
            state = self._dependencies[name]
            was_up, state.up, state.error = state.up, False, error
            if was_up:
                state.down_since = self._monotonic()
        if was_up:
            log.error("%s is unavailable: %s (not ready until it answers again)", name, error)
            if self._dependency_up is not None:
                self._dependency_up.labels(name).set(0)

    def dependency_up(self, name: str) -> None:
        """Record that ``name`` answered (logged when it ends an outage)."""
        with self._lock:
            state = self._dependencies[name]
            was_up, state.up, state.error = state.up, True, ""
            away = self._monotonic() - state.down_since
        if not was_up:
            log.warning("%s is available again (after %.1f s)", name, away)
            if self._dependency_up is not None:
                self._dependency_up.labels(name).set(1)

    def dependency_is_up(self, name: str) -> bool:
        with self._lock:
            return self._dependencies[name].up

    def ready(self) -> Readiness:
        """Ready when every dependency answers and every service runs (or finished) and
        says it is ready."""
        with self._lock:
            entries = list(self._entries.values())
            reasons = [
                f"{d.dependency.name} unavailable: {d.error}"
                for d in self._dependencies.values()
                if not d.up
            ]
        for e in entries:
            name = e.service.name
            if e.state is State.RUNNING:
                if isinstance(e.service, ReportsReadiness):
                    ok, why = e.service.ready()
                    if not ok:
                        reasons.extend(f"{name}: {r}" for r in why)
            elif e.state is State.STARTING:
                reasons.append(f"{name}: starting")
            elif e.state is State.RESTARTING:
                reasons.append(f"{name}: failed, restarting ({e.cause})")
            elif e.state is State.FAILED:
                reasons.append(f"{name}: stopped by a fatal error ({e.cause})")
            elif e.state is State.STOPPED:
                reasons.append(f"{name}: stopped")
        return not reasons, reasons

    def summary(self) -> Sequence[tuple[str, State, str]]:
        with self._lock:
            return [(e.service.name, e.state, e.cause) for e in self._entries.values()]
