"""Run one server process: launch with its output in a log file, check, stop, kill.

Used by the Kafka, QuestDB and PostgreSQL server classes of this package. A process is
either launched here (a child) or adopted by pid from a state file written by an earlier
``quant dev infra up``; an adopted pid is only signalled while its command line still
contains the server's data folder, so a recycled pid is never hit. Stopping sends the
server's polite signal, waits, then SIGKILLs the process group.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from quant.devinfra.errors import InfraError

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 20.0
_POLL_S = 0.1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    what: str, ready: Callable[[], bool], timeout: float, alive: Callable[[], bool]
) -> None:
    """Poll ``ready`` until true; raise if ``alive`` turns false or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return
        if not alive():
            raise InfraError(f"{what}: process exited before it was ready")
        if time.monotonic() > deadline:
            raise InfraError(f"{what}: not ready after {timeout:.0f}s")
        time.sleep(_POLL_S)


class ManagedProcess:
    """One long-running server process and its log file."""

    def __init__(
        self,
        name: str,
        *,
        log_path: Path,
        marker: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.marker = marker
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.user = user
        self._popen: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None

    @property
    def pid(self) -> int | None:
        return self._pid

    def launch(self, command: Sequence[str], *, die_with_parent: bool) -> int:
        """Start ``command``; with ``die_with_parent`` the kernel kills it if we die."""
        if self.alive():
            raise InfraError(f"{self.name} is already running (pid {self._pid})")
        argv = list(command)
        setpriv = shutil.which("setpriv")
        if die_with_parent and setpriv is not None:
            argv = [setpriv, "--pdeathsig", "KILL", *argv]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        group, extra_groups = _groups_of(self.user)
        with self.log_path.open("ab") as out:
            self._popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                user=self.user,
                group=group,
                extra_groups=extra_groups,
            )
        self._pid = self._popen.pid
        log.info("%s started, pid %d, log %s", self.name, self._pid, self.log_path)
        return self._pid

    def adopt(self, pid: int) -> bool:
        """Take over a pid started by an earlier run; false if it is no longer our server."""
        self._popen = None
        self._pid = pid
        if self.alive():
            return True
        self._pid = None
        return False

    def alive(self) -> bool:
        if self._pid is None:
            return False
        if self._popen is not None:
            return self._popen.poll() is None
        return _pid_runs(self._pid, self.marker)

    def exit_code(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Ask the process to stop; SIGKILL it after ``timeout`` seconds.

        True when it ended politely (or had already ended), false when it was killed.
        """
        if not self.alive():
            self._reap()
            return True
        assert self._pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, self.stop_signal)
        if not self._wait(timeout):
            log.warning("%s did not stop within %.0fs; killing it", self.name, timeout)
            self.kill()
            return False
        self._reap()
        log.info("%s stopped", self.name)
        return True

    def kill(self) -> None:
        """SIGKILL the process group (the server and any workers) and reap it."""
        if self._pid is not None and self.alive():
            try:
                os.killpg(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except PermissionError:
                os.kill(self._pid, signal.SIGKILL)
            self._wait(STOP_TIMEOUT_S)
        self._reap()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.is_file():
            return ""
        with self.log_path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _wait(self, timeout: float) -> bool:
        if self._popen is not None:
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        # not alive(): an exiting process loses its command line before it is a zombie
        while self._pid is not None and _pid_runs(self._pid, marker=""):
            if time.monotonic() > deadline:
                return False
            time.sleep(_POLL_S)
        return True

    def _reap(self) -> None:
        if self._popen is not None and self._popen.poll() is not None:
            self._popen = None
            self._pid = None
        elif self._popen is None:
            self._pid = None


def _groups_of(user: str | None) -> tuple[int | None, list[int] | None]:
    """The primary group of ``user`` and no supplementary groups (None: keep ours)."""
    if user is None:
        return None, None
    return pwd.getpwnam(user).pw_gid, []


def _pid_runs(pid: int, marker: str) -> bool:
    """Whether ``pid`` is a live (not zombie) process whose command line has ``marker``.

    An empty ``marker`` matches any process, including one that is exiting.
    """
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and marker in cmdline
