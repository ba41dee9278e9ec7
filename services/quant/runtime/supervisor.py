"""``run_services``: run a process's services, keep them running, stop them in order.

Every command that runs services (``quant ingestor``, ``quant features``,
``quant gateway``, ``quant up``) ends in one call of :func:`run_services`. It owns:

- **logging** (level and format from the settings) and the native-extension report;
- **signals**: SIGINT/SIGTERM set the process's stop event;
- **health**: the ``/healthz`` ``/readyz`` ``/metrics`` server on ``metrics_port`` (when
  not 0), answering from the :class:`~quant.runtime.status.StatusBoard`; the servers
  registered on the board are checked every ``dependency_check_interval_s``
  (:func:`~quant.runtime.probes.watch_dependencies`) while the services run;
- **supervision**: each service runs in its own task of one ``TaskGroup``. A service
  that raises is logged with its cause, marked not ready and run again after a jittered
  exponential backoff (reset once it has run for a minute). A fatal error
  (:func:`~quant.runtime.service.is_fatal`: bad configuration, a refused token the
  service did not wait out itself) is logged once and waited out, not retried in a
  loop. Either way the other services go on: one failed feed never takes the REST API
  down with it;
- **shutdown order**: on stop, the services are stopped one at a time in the order they
  were given (upstream first: the ingestor flushes, then the feature engine drains what
  is on the bus, then the gateway), each within ``shutdown_timeout_s`` or cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from quant.runtime.health import HealthServer
from quant.runtime.logs import setup_logging
from quant.runtime.native import report_native
from quant.runtime.probes import watch_dependencies
from quant.runtime.service import Service, describe, is_fatal
from quant.runtime.settings import ServiceSettings
from quant.runtime.status import State, StatusBoard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts: ``initial_s * 2**n`` capped at ``max_s``, each drawn
    uniformly from its upper half (jitter), back to ``initial_s`` after ``reset_after_s``
    of healthy running."""

    initial_s: float = 0.5
    max_s: float = 30.0
    reset_after_s: float = 60.0

    def delay(self, failures: int, rng: Callable[[], float] = random.random) -> float:
        ceiling = min(self.max_s, self.initial_s * 2 ** max(failures - 1, 0))
        return float(ceiling * (0.5 + 0.5 * rng()))


async def run_services(
    services: Sequence[Service],
    settings: ServiceSettings,
    *,
    registry: CollectorRegistry | None = None,
    board: StatusBoard | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    configure_logging: bool = True,
    backoff: Backoff = Backoff(),
    shutdown_timeout_s: float = 30.0,
) -> StatusBoard:
    """Run ``services`` until ``stop`` (or a signal); returns the final board.

    ``registry``/``board`` are the ones the services were built with (their metrics and
    the gateway's ``/readyz`` use them); new ones are made when not given.
    """
    if configure_logging:
        setup_logging(settings.log_level, json_format=settings.log_format == "json")
    registry = registry if registry is not None else CollectorRegistry()
    board = board if board is not None else StatusBoard(registry)
    for service in services:
        board.add(service)
    report_native(registry)
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if handle_signals else ()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    health = None
    if settings.metrics_port:
        health = HealthServer(settings.metrics_port, registry, board.ready).start()
    watcher = asyncio.create_task(
        watch_dependencies(board, stop, settings.dependency_check_interval_s),
        name="dependency-probes",
    )
    try:
        await _supervise_all(services, board, stop, backoff, shutdown_timeout_s)
    finally:
        watcher.cancel()
        await asyncio.wait([watcher])
        for sig in signals:
            loop.remove_signal_handler(sig)
        if health is not None:
            health.close()
    return board


async def _supervise_all(
    services: Sequence[Service],
    board: StatusBoard,
    stop: asyncio.Event,
    backoff: Backoff,
    shutdown_timeout_s: float,
) -> None:
    stops = {s.name: asyncio.Event() for s in services}
    async with asyncio.TaskGroup() as tg:
        tasks = {
            s.name: tg.create_task(
                _supervise(s, board, stops[s.name], backoff), name=f"supervise-{s.name}"
            )
            for s in services
        }
        everything_ended = asyncio.ensure_future(asyncio.wait(tasks.values()))
        stop_wait = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({everything_ended, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            everything_ended.cancel()
            stop_wait.cancel()
        log.info("stopping %s", ", ".join(s.name for s in services))
        for service in services:  # in order: upstream first, so nothing accepted is lost
            stops[service.name].set()
            task = tasks[service.name]
            done, _ = await asyncio.wait([task], timeout=shutdown_timeout_s)
            if not done:
                log.error(
                    "%s did not stop within %.0f s: cancelled", service.name, shutdown_timeout_s
                )
                task.cancel()
                await asyncio.wait([task])


async def _supervise(
    service: Service, board: StatusBoard, stop: asyncio.Event, backoff: Backoff
) -> None:
    """Run one service until ``stop``; restart it after a retryable failure."""
    loop = asyncio.get_running_loop()
    name = service.name
    failures = 0
    while not stop.is_set():
        board.set(name, State.RUNNING)
        started = loop.time()
        try:
            await service.run(stop)
        except Exception as exc:
            cause = describe(exc)
            if is_fatal(exc):
                log.error(
                    "%s stopped by a fatal error (not retried): %s", name, cause, exc_info=exc
                )
                board.set(name, State.FAILED, cause)
                await stop.wait()
                return
            if loop.time() - started >= backoff.reset_after_s:
                failures = 0
            failures += 1
            delay = backoff.delay(failures)
            log.error("%s failed (restart in %.1f s): %s", name, delay, cause, exc_info=exc)
            board.set(name, State.RESTARTING, cause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            continue
        if stop.is_set():
            board.set(name, State.STOPPED)
        else:
            log.info("%s finished", name)
            board.set(name, State.FINISHED)
        return
    board.set(name, State.STOPPED)
