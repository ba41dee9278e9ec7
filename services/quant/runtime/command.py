"""``run_command``: the body of every service command (``quant ingestor``, ``quant
features``, ``quant gateway``).

A command's ``_run`` reads its one settings object, then hands this function a way to
open its dependencies (:func:`quant.runtime.deps.open_deps` with the sections it needs)
and its ``build`` functions. Logging is set up first (so opening the stores logs in the
right format), the dependencies are opened, the services built and run by
:func:`~quant.runtime.supervisor.run_services`, and everything is closed in reverse.
The exit code is 1 when a service was stopped by a fatal error, else 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, TypeVar

from quant.runtime.settings import ServiceSettings

if TYPE_CHECKING:  # the commands' parsers import this module: ``quant --help`` stays fast
    from quant.runtime.deps import Deps
    from quant.runtime.service import Service

log = logging.getLogger(__name__)

S = TypeVar("S", bound=ServiceSettings)


def add_metrics_port_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics-port", type=int, help="/healthz /readyz /metrics port (0 = off)")


def with_metrics_port(settings: S, args: argparse.Namespace) -> S:
    """``settings`` with ``--metrics-port`` applied, when it was given."""
    port = getattr(args, "metrics_port", None)
    return settings if port is None else settings.model_copy(update={"metrics_port": port})


def run_command(
    settings: ServiceSettings,
    open_deps: Callable[[], AbstractAsyncContextManager[Deps]],
    build: Callable[[Deps], Sequence[Service]],
) -> int:
    """Open, build, run until SIGINT/SIGTERM, close; returns the process exit code."""
    from quant.runtime.logs import setup_logging
    from quant.runtime.service import FatalServiceError, describe
    from quant.runtime.status import State
    from quant.runtime.supervisor import run_services

    setup_logging(settings.log_level, json_format=settings.log_format == "json")

    async def main() -> int:
        try:
            async with open_deps() as deps:
                board = await run_services(
                    build(deps),
                    settings,
                    registry=deps.registry,
                    board=deps.board,
                    configure_logging=False,
                )
        except Exception as e:  # opening a store or building a service failed
            # a known start-up error says all there is to say; anything else shows its stack
            log.error(
                "cannot start: %s", describe(e), exc_info=not isinstance(e, FatalServiceError)
            )
            return 1
        failed = [name for name, state, _ in board.summary() if state is State.FAILED]
        return 1 if failed else 0

    return asyncio.run(main())
