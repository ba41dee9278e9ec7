"""Snapshot stores: a file (atomic replace) for processes, memory for ``quant up``/tests."""

from __future__ import annotations

import os
from pathlib import Path


class FileSnapshotStore:
    """Keeps the latest snapshot in one file, replaced atomically (write, fsync, rename)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> bytes | None:
        try:
            return self._path.read_bytes()
        except FileNotFoundError:
            return None

    def save(self, blob: bytes) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(self._path.suffix + ".tmp")
        with tmp.open("wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self._path)


class MemorySnapshotStore:
    """The latest snapshot in memory."""

    def __init__(self) -> None:
        self.blob: bytes | None = None
        self.saves = 0

    def load(self) -> bytes | None:
        return self.blob

    def save(self, blob: bytes) -> None:
        self.blob = blob
        self.saves += 1
