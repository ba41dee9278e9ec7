"""Real Kafka, QuestDB and PostgreSQL on loopback for development and tests.

The public API of ``quant.devinfra``, used by ``quant dev infra up|down|status`` and the
pytest fixtures in ``tests/conftest.py``::

    kafka = KafkaServer(tmp / "kafka", die_with_parent=True)
    questdb = QuestDBServer(tmp / "questdb")
    postgres = PostgresServer(tmp / "postgres")
    errors = start_all([kafka, questdb, postgres])   # in parallel; {} when all are up
    kafka.bootstrap, questdb.http_url, questdb.ilp_conf, questdb.pg_dsn, postgres.dsn
    postgres.ensure_database("scratch"); postgres.drop_database("scratch")
    kafka.kill(); kafka.start()                     # same ports, same data
    stop_all([kafka, questdb, postgres])

Every server binds 127.0.0.1 on free ports (or the ports given), keeps its data under its
``root`` folder and is stopped with its polite signal, then SIGKILL. ``die_with_parent``
(tests) makes the kernel kill a server when the thread that launched it exits; call
``start()`` from a thread that outlives the server (the main thread in pytest).

Versions: Kafka 4.3.1 (KRaft, Scala 2.13) with slf4j-simple, QuestDB 9.3.4 (Java 17),
PostgreSQL from the system (``/usr/lib/postgresql/*/bin``, or ``initdb`` on PATH).

Environment:
- ``QUANT_CACHE_DIR``: the per-user cache (default ``~/.cache/quant-platform``): the
  Kafka classpath (``kafka_2.13-<v>/libs``) and the QuestDB jar (``questdb-<v>/libs``),
  downloaded once from Maven Central with ``mvn``; a QuestDB root template; and the JVM
  class-data archives (``*.jsa``, see :mod:`quant.devinfra.cds`). Delete it to refetch.
- ``QUANT_INFRA_DIR``: state and data of ``quant dev infra`` (default ``.quant/infra`` in
  the enclosing git checkout, which git ignores, else in the current folder).
- ``JAVA_HOME``: preferred JDK (else ``java`` on PATH, else ``/usr/lib/jvm/*``).
- Printed by ``quant dev infra up`` for services: ``QUANT_KAFKA__BOOTSTRAP_SERVERS``,
  ``QUANT_QUESTDB__HOST``, ``QUANT_QUESTDB__HTTP_PORT``, ``QUANT_QUESTDB__PG_PORT``,
  ``QUANT_POSTGRES__DSN``.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from quant.devinfra.base import READY_TIMEOUT_S, Server
from quant.devinfra.errors import InfraError
from quant.devinfra.fetch import KAFKA_VERSION, QUESTDB_VERSION, cache_dir
from quant.devinfra.kafka import KafkaServer
from quant.devinfra.postgres import PostgresServer
from quant.devinfra.questdb import QuestDBServer

__all__ = [
    "KAFKA_VERSION",
    "QUESTDB_VERSION",
    "InfraError",
    "KafkaServer",
    "PostgresServer",
    "QuestDBServer",
    "Server",
    "cache_dir",
    "main",
    "start_all",
    "stop_all",
]

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


def main(action: str) -> int:
    """Entry point of ``quant dev infra ACTION`` (``up``, ``down`` or ``status``)."""
    from quant.devinfra.infra import run

    return run(action)
