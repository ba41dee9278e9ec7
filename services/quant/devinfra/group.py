"""Start and stop a group of local servers in parallel: ``start_all`` and ``stop_all``.

Used by ``quant dev infra`` (:mod:`quant.devinfra.infra`) and, through the public API
:mod:`quant.devinfra.servers`, by the pytest fixtures and bench/. Depends only on the
``Server`` base, so that neither of those imports the other.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from quant.devinfra.base import READY_TIMEOUT_S, Server
from quant.devinfra.errors import InfraError

__all__ = ["start_all", "stop_all"]

log = logging.getLogger(__name__)

_FAILURES = (InfraError, OSError, subprocess.SubprocessError)


def _as_infra_error(server: Server, error: BaseException) -> InfraError:
    if isinstance(error, InfraError):
        return error
    return InfraError(f"{server.name}: {type(error).__name__}: {error}")


def start_all(servers: Sequence[Server], timeout: float = READY_TIMEOUT_S) -> dict[str, InfraError]:
    """Start ``servers`` together; return the failures by server name ({} if all are up).

    Preparing (downloads, ``initdb``, Kafka's storage format) and waiting for health run in
    worker threads; the processes are spawned from the calling thread, so that servers
    started with ``die_with_parent`` live as long as the caller. A server that fails does
    not stop the others.
    """
    errors: dict[str, InfraError] = {}
    if not servers:
        return errors
    with ThreadPoolExecutor(max_workers=len(servers), thread_name_prefix="devinfra") as pool:
        prepared = {s.name: pool.submit(s.prepare) for s in servers}
        launched: list[Server] = []
        for server in servers:
            try:
                prepared[server.name].result()
                server.launch()
            except _FAILURES as e:
                errors[server.name] = _as_infra_error(server, e)
                continue
            launched.append(server)
        waits = {s.name: pool.submit(s.wait_ready, timeout) for s in launched}
        retry: list[Server] = []
        for server in launched:
            try:
                waits[server.name].result()
            except _FAILURES as e:
                error = _as_infra_error(server, e)
                if server.retry_after_port_clash(error):
                    retry.append(server)
                else:
                    errors[server.name] = error
    for server in retry:  # rare: another process took a port we had picked
        try:
            server.start(timeout)
        except _FAILURES as e:
            errors[server.name] = _as_infra_error(server, e)
    for name, error in errors.items():
        log.error("%s failed to start: %s", name, error)
    return errors


def stop_all(servers: Sequence[Server]) -> None:
    """Stop ``servers`` in parallel (each: polite signal, then SIGKILL after a timeout)."""
    if not servers:
        return
    with ThreadPoolExecutor(max_workers=len(servers), thread_name_prefix="devinfra") as pool:
        for future in [pool.submit(s.stop) for s in servers]:
            future.result()
