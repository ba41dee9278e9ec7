"""Shared test helpers and the real-server fixtures.

``require(ok, why)``: a test that needs a server or tool calls it. Locally it skips when
the thing is missing; under ``CI=true`` it fails, because CI must never pass by skipping.

Server fixtures (backed by :mod:`quant.devinfra.servers`; real processes on 127.0.0.1,
free ports, data in a temporary folder, started once per session and only when a test
asks; when the first is needed, every server any selected test needs starts in parallel):

- ``kafka_bootstrap`` -> ``str`` ``"127.0.0.1:PORT"``: a single KRaft broker+controller.
- ``questdb`` -> :class:`~quant.devinfra.questdb.QuestDBServer` with ``.host``,
  ``.http_port``, ``.pg_port``, ``.http_url``, ``.ilp_conf``, ``.pg_dsn``.
- ``postgres_dsn`` -> ``str`` URL of database ``quant_platform`` (superuser, trust auth).
- ``fresh_postgres_dsn`` (per test) -> ``str`` URL of a new empty database, dropped after.
- ``kafka_server_factory`` (per test) -> ``make()`` returning a started private
  :class:`~quant.devinfra.kafka.KafkaServer` (``.bootstrap``, ``.stop()``, ``.start()``,
  ``.kill()``); ``start()`` after a stop or kill reuses the port and the data folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

if TYPE_CHECKING:
    from quant.devinfra.servers import KafkaServer, PostgresServer, QuestDBServer, Server

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(ok: bool, why: str) -> None:
    """Skip locally, fail in CI, when a needed server or tool is unavailable."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {why}", pytrace=False)
    pytest.skip(why)


# fixture name -> the shared server it needs
_SERVER_OF_FIXTURE = {
    "kafka_bootstrap": "kafka",
    "questdb": "questdb",
    "postgres_dsn": "postgres",
    "fresh_postgres_dsn": "postgres",
}


@pytest.fixture(autouse=True)
def _no_tick_store_writer_left_running() -> Iterator[None]:
    """A test that starts a ``BatchingWriter`` closes (or abandons) it: a writer thread
    still running at interpreter exit could be mid-write while Python tears down."""
    from quant.store.batching import running_writers

    before = set(map(id, running_writers()))
    yield
    left = [w for w in running_writers() if id(w) not in before]
    assert not left, f"{len(left)} tick-store writer(s) left running: close() or abandon() them"


def _server_root() -> Path:
    """A temporary folder other users can traverse (PostgreSQL may run as ``postgres``)."""
    root = Path(tempfile.mkdtemp(prefix="quant-servers-"))
    root.chmod(0o755)
    return root


class _ServerPool:
    """The session's shared servers: created and started lazily, all needed at once."""

    def __init__(self, root: Path, wanted: set[str]) -> None:
        self.root = root
        self.wanted = wanted
        self.servers: dict[str, Server] = {}
        self.errors: dict[str, str] = {}

    def _make(self, name: str) -> Server:
        from quant.devinfra.servers import KafkaServer, PostgresServer, QuestDBServer

        kinds = {"kafka": KafkaServer, "questdb": QuestDBServer, "postgres": PostgresServer}
        server: Server = kinds[name](self.root / name, die_with_parent=True)
        return server

    def get(self, name: str) -> Server:
        if name not in self.servers and name not in self.errors:
            from quant.devinfra.servers import InfraError, start_all

            batch: list[Server] = []
            for wanted in sorted(self.wanted | {name}):
                if wanted in self.servers or wanted in self.errors:
                    continue
                try:
                    server = self._make(wanted)
                except InfraError as e:
                    self.errors[wanted] = str(e)
                    continue
                self.servers[wanted] = server
                batch.append(server)
            for failed, error in start_all(batch).items():
                self.errors[failed] = str(error)
                self.servers.pop(failed)
        require(name not in self.errors, f"{name} server: {self.errors.get(name)}")
        return self.servers[name]

    def close(self) -> None:
        from quant.devinfra.servers import stop_all

        stop_all(list(self.servers.values()))
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def _server_pool(request: pytest.FixtureRequest) -> Iterator[_ServerPool]:
    wanted = {
        _SERVER_OF_FIXTURE[fixture]
        for item in request.session.items
        for fixture in getattr(item, "fixturenames", ())
        if fixture in _SERVER_OF_FIXTURE
    }
    pool = _ServerPool(_server_root(), wanted)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(_server_pool: _ServerPool) -> str:
    return cast("KafkaServer", _server_pool.get("kafka")).bootstrap


@pytest.fixture(scope="session")
def questdb(_server_pool: _ServerPool) -> QuestDBServer:
    return cast("QuestDBServer", _server_pool.get("questdb"))


@pytest.fixture(scope="session")
def _postgres_server(_server_pool: _ServerPool) -> PostgresServer:
    return cast("PostgresServer", _server_pool.get("postgres"))


@pytest.fixture(scope="session")
def postgres_dsn(_postgres_server: PostgresServer) -> str:
    return _postgres_server.dsn


@pytest.fixture
def fresh_postgres_dsn(_postgres_server: PostgresServer) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:16]}"
    dsn = _postgres_server.ensure_database(name)
    yield dsn
    _postgres_server.drop_database(name)


@pytest.fixture
def kafka_server_factory() -> Iterator[Callable[[], KafkaServer]]:
    from quant.devinfra.servers import InfraError, KafkaServer

    root = _server_root()
    made: list[KafkaServer] = []

    def make() -> KafkaServer:
        server = KafkaServer(root / f"kafka-{len(made)}", die_with_parent=True)
        made.append(server)
        try:
            server.start()
        except InfraError as e:
            require(False, f"private kafka broker: {e}")
        return server

    yield make
    for server in made:
        server.stop()
    shutil.rmtree(root, ignore_errors=True)
