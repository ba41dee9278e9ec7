"""A private PostgreSQL cluster on 127.0.0.1: ``initdb`` once, then ``postgres`` itself.

Used by :mod:`quant.devinfra.servers` and the ``postgres_dsn`` / ``fresh_postgres_dsn``
pytest fixtures. The superuser is ``quant`` with trust auth on loopback, and the database
``quant_platform`` is created on first start. The server runs in the foreground as our
child (no system service, no unix socket), so it can be stopped with SIGINT (PostgreSQL's
fast shutdown). PostgreSQL refuses to run as root: when we are root it runs as the
``postgres`` system user (or ``nobody``), which then owns the data folder.
This is a throw-away dev cluster: ``fsync`` is off (a killed server loses nothing; only
an operating-system crash could).
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import signal
import subprocess
from pathlib import Path

from quant.devinfra import fetch
from quant.devinfra.base import Server
from quant.devinfra.errors import InfraError
from quant.devinfra.process import ManagedProcess, free_port, port_open

log = logging.getLogger(__name__)

SUPERUSER = "quant"
DATABASE = "quant_platform"
INITDB_TIMEOUT_S = 120.0
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _run_as() -> str | None:
    """The system user to run PostgreSQL as (None: ourselves, when we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise InfraError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


class PostgresServer(Server):
    """One PostgreSQL cluster; :attr:`dsn` is the ``quant_platform`` database URL."""

    name = "postgres"

    def __init__(
        self, root: Path, *, port: int | None = None, die_with_parent: bool = False
    ) -> None:
        super().__init__(root, die_with_parent=die_with_parent)
        self._ports_chosen_here = port is None
        self.port = port or free_port()
        self.data_dir = self.root / "pgdata"
        self.user = _run_as()
        self._bin: Path | None = None

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        return self.dsn_for(DATABASE)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def ports(self) -> dict[str, int]:
        return {"port": self.port}

    def _repick_ports(self) -> None:
        self.port = free_port()

    def env(self) -> dict[str, str]:
        return {"QUANT_POSTGRES__DSN": self.dsn}

    def prepare(self) -> None:
        self._bin = fetch.postgres_bin()
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            self._hand_over_to(self.user)
        if (self.data_dir / "PG_VERSION").is_file():
            return
        argv = [
            str(self._bin / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ]
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=INITDB_TIMEOUT_S,
            check=False,
            user=self.user,
            group=None if self.user is None else pwd.getpwnam(self.user).pw_gid,
            extra_groups=None if self.user is None else [],
            cwd=self.root,
        )
        if done.returncode != 0:
            raise InfraError(f"initdb failed: {(done.stdout + done.stderr)[-2000:]}")

    def _hand_over_to(self, user: str) -> None:
        """Give ``root`` to the PostgreSQL user and check it can reach it."""
        entry = pwd.getpwnam(user)
        os.chown(self.root, entry.pw_uid, entry.pw_gid)
        for folder in self.root.parents:
            if not os.stat(folder).st_mode & 0o001:
                raise InfraError(
                    f"{folder} is not searchable by other users, so PostgreSQL (running as "
                    f"{user!r}) cannot reach {self.root}; choose a data folder elsewhere"
                )

    def command(self) -> list[str]:
        if self._bin is None:
            raise InfraError("postgres: prepare() must run before launch")
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": "",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "64MB",
        }
        argv = [str(self._bin / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return argv

    def build_process(self) -> ManagedProcess:
        return ManagedProcess(
            "postgres",
            log_path=self.root / "postgres.log",
            marker=str(self.data_dir),
            cwd=self.root,
            stop_signal=signal.SIGINT,
            user=self.user,
        )

    def healthy(self) -> bool:
        if not port_open(self.port):
            return False
        import psycopg

        try:
            with psycopg.connect(self.dsn_for("postgres"), connect_timeout=3) as conn:
                conn.execute("select 1")
        except psycopg.Error as e:
            log.debug("postgres probe failed: %s", e)
            return False
        return True

    def ensure_database(self, name: str = DATABASE) -> str:
        """Create database ``name`` if missing; return its URL."""
        import psycopg
        from psycopg import sql

        if not _DB_NAME.match(name):
            raise InfraError(f"invalid database name {name!r}")
        with psycopg.connect(self.dsn_for("postgres"), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (name,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting anyone still using it."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn_for("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )

    def wait_ready(self, timeout: float = 90.0) -> None:
        super().wait_ready(timeout)
        self.ensure_database(DATABASE)
