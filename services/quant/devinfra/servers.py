"""Real Kafka, QuestDB and PostgreSQL on loopback for development and tests.

The public API of ``quant.devinfra`` (names re-exported from their modules; this module
defines nothing), used by the pytest fixtures in ``tests/conftest.py`` and bench/;
``quant dev infra up|down|status`` is :mod:`quant.devinfra.infra`::

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

from quant.devinfra.base import Server
from quant.devinfra.errors import InfraError
from quant.devinfra.fetch import KAFKA_VERSION, QUESTDB_VERSION, cache_dir
from quant.devinfra.group import start_all, stop_all
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
    "start_all",
    "stop_all",
]
