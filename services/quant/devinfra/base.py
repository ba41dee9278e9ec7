"""The shape every local server shares: prepare, launch, wait until healthy, stop.

Subclassed by :mod:`quant.devinfra.kafka`, :mod:`quant.devinfra.questdb` and
:mod:`quant.devinfra.postgres`; used by :mod:`quant.devinfra.group` (parallel start),
:mod:`quant.devinfra.infra` (the ``quant dev infra`` command) and the pytest fixtures.
``start()`` is ``prepare()`` (fetch binaries, format the data folder once), ``launch()``
(spawn; call it from the thread that stays alive, because with ``die_with_parent`` the
kernel kills the server when the launching thread exits) and ``wait_ready()``.
"""

from __future__ import annotations

import abc
import logging
import time
from pathlib import Path
from typing import Any

from quant.devinfra.errors import InfraError
from quant.devinfra.process import STOP_TIMEOUT_S, ManagedProcess, wait_until

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 90.0
# what Kafka, QuestDB and PostgreSQL log when a port is taken
_BIND_ERRORS = ("Address already in use", "errno=98", "could not bind")


class Server(abc.ABC):
    """A server bound to 127.0.0.1 on fixed ports, keeping its data under ``root``."""

    name: str = "server"

    def __init__(self, root: Path, *, die_with_parent: bool = False) -> None:
        self.root = root.resolve()
        self.die_with_parent = die_with_parent
        self.host = "127.0.0.1"
        self._process: ManagedProcess | None = None
        self.started_in_s: float | None = None
        self._ports_chosen_here = False
        self._ever_ready = False
        self._t0 = time.monotonic()

    # --- what a subclass provides -------------------------------------------------
    @abc.abstractmethod
    def prepare(self) -> None:
        """Fetch what is needed and initialise the data folder (idempotent)."""

    @abc.abstractmethod
    def build_process(self) -> ManagedProcess:
        """The server process: log file, marker, signal, user (no I/O)."""

    @abc.abstractmethod
    def command(self) -> list[str]:
        """The command line that runs the server (after :meth:`prepare`)."""

    @abc.abstractmethod
    def healthy(self) -> bool:
        """Whether the server answers a real request right now."""

    @property
    @abc.abstractmethod
    def address(self) -> str:
        """Where clients connect, for humans (``127.0.0.1:PORT`` or a URL)."""

    @abc.abstractmethod
    def env(self) -> dict[str, str]:
        """The ``QUANT_*`` settings a service would use to reach this server."""

    @abc.abstractmethod
    def ports(self) -> dict[str, int]:
        """The ports this server binds, by role."""

    def _repick_ports(self) -> None:
        """Choose new free ports and forget any state that names the old ones."""
        raise InfraError(f"{self.name} cannot change its ports")

    # --- lifecycle ----------------------------------------------------------------
    @property
    def process(self) -> ManagedProcess:
        if self._process is None:
            self._process = self.build_process()
        return self._process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        return self._process is not None and self._process.alive()

    def launch(self) -> None:
        self._t0 = time.monotonic()
        self.process.launch(self.command(), die_with_parent=self.die_with_parent)

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        proc = self.process
        try:
            wait_until(f"{self.name} on {self.address}", self.healthy, timeout, proc.alive)
        except InfraError as e:
            tail = proc.log_tail()
            self.kill()
            raise InfraError(f"{e}; last log lines ({proc.log_path}):\n{tail}") from e
        self._ever_ready = True
        self.started_in_s = time.monotonic() - self._t0
        log.info("%s ready on %s in %.1fs", self.name, self.address, self.started_in_s)

    def start(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Prepare, launch and wait until healthy (same ports and data as before).

        If the ports were picked here and another process took one of them between the
        pick and the bind, the first start picks new ports and tries once more.
        """
        try:
            self.prepare()
            self.launch()
            self.wait_ready(timeout)
        except InfraError as e:
            if not self.retry_after_port_clash(e):
                raise
            self.prepare()
            self.launch()
            self.wait_ready(timeout)

    def retry_after_port_clash(self, error: InfraError) -> bool:
        """Pick new ports if ``error`` was a lost race for a port we chose; true if so."""
        clash = any(text in str(error) for text in _BIND_ERRORS)
        if not (clash and self._ports_chosen_here and not self._ever_ready):
            return False
        old = self.ports()
        self._repick_ports()
        log.warning("%s lost a port race on %s; retrying on %s", self.name, old, self.ports())
        return True

    def stop(self) -> None:
        """Stop politely (SIGTERM, or the server's own polite signal), then SIGKILL."""
        if self._process is not None:
            self.after_stop(polite=self._process.stop(self.stop_timeout()))

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        if self._process is not None:
            self._process.kill()
            self.after_stop(polite=False)

    def stop_timeout(self) -> float:
        """Seconds to wait for a polite stop before SIGKILL."""
        return STOP_TIMEOUT_S

    def after_stop(self, *, polite: bool) -> None:
        """Tidy up once the process has ended (``polite``: it was not killed)."""
        log.debug("%s ended (polite=%s)", self.name, polite)

    def adopt(self, pid: int) -> bool:
        """Take over a server started by an earlier ``quant dev infra up``."""
        return self.process.adopt(pid)

    def state(self) -> dict[str, Any]:
        """What ``quant dev infra`` writes to its state file to find this server again."""
        return {"root": str(self.root), "pid": self.pid, "ports": self.ports()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address}, root={self.root})"
