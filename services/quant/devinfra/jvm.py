"""``JvmServer``: what the JVM servers (Kafka, QuestDB) share on top of ``Server``.

A polite stop keeps the class-data archive the JVM recorded (see ``cds``), which makes the
next start faster, and may take longer while it is written; a SIGKILL discards it.
"""

from __future__ import annotations

from pathlib import Path

from quant.devinfra import cds, fetch
from quant.devinfra.base import Server


class JvmServer(Server):
    """A ``Server`` run by ``java``; subclasses set ``min_java`` and ``_java`` in prepare."""

    min_java: int = 17
    _java: Path | None = None

    def stop_timeout(self) -> float:
        if cds.recording(self.root):
            return cds.RECORDING_STOP_TIMEOUT_S
        return super().stop_timeout()

    def after_stop(self, *, polite: bool) -> None:
        if polite:
            cds.keep(self.name, self._java or fetch.java(self.min_java), self.root)
        else:
            cds.discard(self.root)
