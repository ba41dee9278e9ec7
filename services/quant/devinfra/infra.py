"""``quant dev infra up|down|status``: long-lived local servers for development.

Called by :mod:`quant.devinfra.cli` (:func:`run`). The servers' ports, pids and data
live under ``QUANT_INFRA_DIR`` (default ``.quant/infra`` in the enclosing git checkout,
which git ignores). ``up`` reuses healthy servers and restarts dead ones on their old
ports with their old data, so running it twice is harmless; ``down`` stops them and keeps
their data for the next ``up``; ``status`` exits non-zero when any server is not healthy.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from quant.devinfra.base import Server
from quant.devinfra.errors import InfraError
from quant.devinfra.group import start_all, stop_all
from quant.devinfra.kafka import KafkaServer
from quant.devinfra.postgres import PostgresServer
from quant.devinfra.questdb import QuestDBServer

NAMES = ("kafka", "questdb", "postgres")
STATE_FILE = "state.json"
READY_WAIT_S = 30.0


def infra_dir() -> Path:
    """``QUANT_INFRA_DIR``, else ``.quant/infra`` in the git checkout around the cwd."""
    if override := os.environ.get("QUANT_INFRA_DIR"):
        return Path(override).resolve()
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder / ".quant" / "infra"
    return cwd / ".quant" / "infra"


def _build(name: str, root: Path, ports: dict[str, int]) -> Server:
    if name == "kafka":
        return KafkaServer(
            root, port=ports.get("port"), controller_port=ports.get("controller_port")
        )
    if name == "questdb":
        return QuestDBServer(
            root,
            http_port=ports.get("http_port"),
            pg_port=ports.get("pg_port"),
            ilp_tcp_port=ports.get("ilp_tcp_port"),
            min_http_port=ports.get("min_http_port"),
        )
    if name == "postgres":
        return PostgresServer(root, port=ports.get("port"))
    raise InfraError(f"unknown server {name!r}")


class _State:
    """The state file: one entry per server with its root, ports and pid."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / STATE_FILE

    def load(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        data: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
        return data

    def save(self, servers: dict[str, Server]) -> None:
        entries = {name: server.state() for name, server in servers.items()}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.path)

    def servers(self) -> dict[str, Server]:
        """Every server, as recorded (adopting live pids) or new on free ports."""
        recorded = self.load()
        found: dict[str, Server] = {}
        for name in NAMES:
            entry = recorded.get(name, {})
            root = Path(entry.get("root", self.folder / name))
            server = _build(name, root, dict(entry.get("ports", {})))
            pid = entry.get("pid")
            if isinstance(pid, int):
                server.adopt(pid)
            found[name] = server
        return found

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _traversable(folder: Path) -> None:
    """Let PostgreSQL's own user (when we are root) reach the data under ``folder``."""
    if os.geteuid() == 0:
        for path in (folder.parent, folder):
            path.chmod(path.stat().st_mode | 0o011)


def up(folder: Path, out: TextIO) -> int:
    state = _State(folder)
    with state.locked():
        _traversable(folder)
        servers = state.servers()
        to_start: list[Server] = []
        for server in servers.values():
            if not server.running():
                to_start.append(server)
                continue
            try:
                server.wait_ready(READY_WAIT_S)  # an earlier `up` may still be starting it
            except InfraError as e:
                out.write(f"{server.name}: running but unhealthy, restarting: {e}\n")
                to_start.append(server)
                continue
            out.write(f"{server.name}: already running (pid {server.pid})\n")
        errors = start_all(to_start)
        state.save(servers)
    for server in servers.values():
        line = f"failed: {errors[server.name]}" if server.name in errors else "up"
        out.write(f"{server.name:9} {server.address:28} {line}\n")
    out.write(f"data and logs in {folder} (QUANT_INFRA_DIR)\n")
    if errors:
        out.write(
            f"\nif a recorded port is now taken by another program, run `quant dev infra down`"
            f" and remove {folder} to start afresh on new ports (and with empty data)\n"
        )
    out.write("\n# environment for the services:\n")
    for server in servers.values():
        for key, value in server.env().items():
            out.write(f"export {key}={value}\n")
    return 1 if errors else 0


def down(folder: Path, out: TextIO) -> int:
    state = _State(folder)
    if not state.path.is_file():
        out.write("nothing to stop\n")
        return 0
    with state.locked():
        servers = state.servers()
        stop_all([s for s in servers.values() if s.running()])
        state.save(servers)
    for server in servers.values():
        out.write(f"{server.name:9} stopped\n")
    return 0


def status(folder: Path, out: TextIO) -> int:
    state = _State(folder)
    if not state.path.is_file():
        out.write(f"no servers recorded in {folder}; run `quant dev infra up`\n")
        return 1
    down_count = 0
    for server in state.servers().values():
        if not server.running():
            health = "down"
        elif server.healthy():
            health = f"healthy (pid {server.pid})"
        else:
            health = f"running but not answering (pid {server.pid})"
        down_count += not health.startswith("healthy")
        out.write(f"{server.name:9} {server.address:28} {health}\n")
    return 1 if down_count else 0


def run(action: str, folder: Path | None = None, out: TextIO | None = None) -> int:
    """Run ``action`` (up, down, status) on the servers recorded in ``folder``."""
    actions = {"up": up, "down": down, "status": status}
    if action not in actions:
        raise InfraError(f"unknown action {action!r}")
    return actions[action](folder or infra_dir(), out or sys.stdout)
