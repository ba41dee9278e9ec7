"""Serving an HTTP app inside a service's event loop (uvicorn, no signal capture).

The gateway's public API and the execution service's own API are served this way.
``uvicorn.Server.serve`` normally installs its own SIGINT/SIGTERM handlers; the process's
supervisor (:mod:`quant.runtime.supervisor`) owns the signals and stops every component
in order, so :class:`EmbeddedServer` leaves them alone. Stop it by setting ``should_exit``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that never touches process signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    @property
    def bound_port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return int(self.servers[0].sockets[0].getsockname()[1])


def embedded_server(app: FastAPI, host: str, port: int) -> EmbeddedServer:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        # WebSocket messages (the gateway's stream) go out uncompressed: deflating the
        # same small JSON once per client costs more CPU than the bytes it saves
        ws_per_message_deflate=False,
    )
    return EmbeddedServer(config)


async def wait_started(server: EmbeddedServer, task: asyncio.Task[None]) -> None:
    """Return once ``server`` is listening; re-raise if its task ended first."""
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("the HTTP server exited before it started")
        await asyncio.sleep(0.02)
