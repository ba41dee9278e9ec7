"""Dependency probes: each server a process needs, checked in the background, on ``/readyz``.

A :class:`Dependency` is a name (``"PostgreSQL"``) and a blocking ``check`` that raises
when the server does not answer (bounded by its own short timeout). The composition root
that opened the server (:func:`quant.runtime.deps.open_deps`) registers it on the
process's :class:`~quant.runtime.status.StatusBoard` (``board.watch``);
:func:`~quant.runtime.supervisor.run_services` runs :func:`watch_dependencies`, which
checks every dependency every ``interval_s`` in a worker thread. While one is down the
board is not ready, naming it and the error (the gateway's ``/readyz`` and the data
services' health server both answer from the board); the log says once when it goes
down and once when it is back, with how long it was away.

The services go on while a dependency is down: they retry, or hold their work, on their
own (the feature service holds its Kafka commits while QuestDB refuses its writes).
Metric: ``quant_dependency_up{dependency}`` (1 up, 0 down).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quant.runtime.blocking import run_blocking

if TYPE_CHECKING:
    from quant.runtime.status import StatusBoard

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 2.0


@dataclass(frozen=True)
class Dependency:
    """A server the process needs: ``check()`` returns when it answers, raises if not."""

    name: str
    check: Callable[[], None]


def short_error(exc: BaseException, limit: int = 200) -> str:
    """One line of ``exc`` for ``/readyz`` and the log (drivers' messages run long)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def probe_once(board: StatusBoard, dependency: Dependency) -> bool:
    """Check ``dependency`` once and record the result on ``board``; returns if it is up."""
    try:
        await run_blocking(dependency.check)
    except Exception as exc:
        board.dependency_down(dependency.name, short_error(exc))
        return False
    board.dependency_up(dependency.name)
    return True


async def watch_dependencies(
    board: StatusBoard, stop: asyncio.Event, interval_s: float = DEFAULT_INTERVAL_S
) -> None:
    """Check every dependency on ``board`` every ``interval_s`` until ``stop``."""
    while True:
        dependencies = board.dependencies()
        if dependencies:
            await asyncio.gather(*(probe_once(board, d) for d in dependencies))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
            return
