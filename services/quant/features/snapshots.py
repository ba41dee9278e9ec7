"""Snapshot stores: a file (atomic replace) for processes, memory for ``quant up``/tests."""

from __future__ import annotations

import os
from pathlib import Path

from quant.features.ports import Parts


class FileSnapshotStore:
    """Keeps the latest snapshot in one file, replaced atomically (write, fsync, rename)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> bytes | None:
        try:
            return self._path.read_bytes()
        except FileNotFoundError:
            return None

    def save(self, parts: Parts) -> None:
        """Write the pieces in order (large ones straight from their memory, the GIL
        released while the kernel copies), fsync, rename over the previous snapshot."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(self._path.suffix + ".tmp")
        with tmp.open("wb") as fh:
            for part in parts:
                fh.write(part)
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

    def save(self, parts: Parts) -> None:
        self.blob = b"".join(parts)
        self.saves += 1
