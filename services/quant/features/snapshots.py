"""Snapshot stores: files for processes (incremental), memory for ``quant up``/tests.

:class:`FileSnapshotStore` keeps the latest snapshot as a small main file plus one file
per :class:`~quant.features.ports.Piece` (a history level's column, which never changes)
in ``<name>.pieces/``. A save writes only the pieces it does not hold yet (fsynced before
the main file names them), then the main file (write, fsync, atomic rename), then
deletes the pieces the new snapshot no longer names. So a checkpoint writes what changed
since the last one (new levels, the per-instrument state), not the whole rolling-window
history: at full feed rates that history is ~100 MB, and rewriting it every few seconds
was tens of MB/s of disk writes. A crash at any point leaves the previous snapshot
whole: its pieces are deleted only after the new main file has replaced it.

Main file: ``QSNAP-M1`` magic, a 4-byte little-endian header length, a JSON header
``{"segments": [["inline", n] | ["piece", name, n], ...]}``, then the inline bytes in
order. :meth:`FileSnapshotStore.load` joins the segments back into the blob that was
saved; a main file without the magic is a whole snapshot from before pieces existed.
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path

from quant.features.ports import Parts, Piece, join_parts, part_bytes

_MAGIC = b"QSNAP-M1"
_LEN = struct.Struct("<I")
_NAME = re.compile(r"[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}")


class SnapshotFileError(RuntimeError):
    """A snapshot on disk is damaged (a piece it names is missing or the wrong size)."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, chunks: list[bytes | memoryview]) -> None:
    """Write ``chunks`` to ``path`` atomically: a temporary file, fsync, rename."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        for chunk in chunks:
            fh.write(chunk)  # large ones straight from their memory, the GIL released
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


class FileSnapshotStore:
    """The latest snapshot in a main file and its pieces (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pieces = path.with_name(path.name + ".pieces")
        self.last_written = 0  # bytes the last save wrote (main file and new pieces)
        self.last_size = 0  # bytes of the last saved snapshot (what load returns)

    def load(self) -> bytes | None:
        try:
            main = self._path.read_bytes()
        except FileNotFoundError:
            return None
        if not main.startswith(_MAGIC):
            return main  # a whole snapshot written before pieces existed
        start = len(_MAGIC) + _LEN.size
        (size,) = _LEN.unpack_from(main, len(_MAGIC))
        segments = json.loads(main[start : start + size])["segments"]
        offset = start + size
        out = bytearray()
        for segment in segments:
            if segment[0] == "inline":
                n = int(segment[1])
                out += main[offset : offset + n]
                offset += n
                continue
            name, n = str(segment[1]), int(segment[2])
            try:
                data = (self._pieces / name).read_bytes() if _NAME.fullmatch(name) else None
            except FileNotFoundError:
                data = None
            if data is None or len(data) != n:
                raise SnapshotFileError(
                    f"snapshot {self._path}: piece {name!r} is missing or damaged"
                )
            out += data
        return bytes(out)

    def save(self, parts: Parts) -> int:
        """Write the new pieces (fsynced), then the main file (atomic replace), then drop
        the pieces no longer named. Returns the bytes written."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        segments: list[list[object]] = []
        inline: list[bytes | memoryview] = []
        names: set[str] = set()
        written = size = 0
        for part in parts:
            data = part_bytes(part)
            n = memoryview(data).nbytes
            size += n
            if not isinstance(part, Piece):
                segments.append(["inline", n])
                inline.append(data)
                continue
            if not _NAME.fullmatch(part.ident):
                raise ValueError(f"snapshot piece name {part.ident!r} is not a plain file name")
            target = self._pieces / part.ident
            if part.ident not in names and not (target.is_file() and target.stat().st_size == n):
                self._pieces.mkdir(exist_ok=True)
                _write_file(target, [data])
                written += n
            names.add(part.ident)
            segments.append(["piece", part.ident, n])
        if written:
            _fsync_dir(self._pieces)  # the new pieces' names are durable before the main file
        header = json.dumps({"segments": segments}, separators=(",", ":")).encode()
        head = _MAGIC + _LEN.pack(len(header)) + header
        _write_file(self._path, [head, *inline])
        _fsync_dir(self._path.parent)
        self.last_written = written + len(head) + sum(memoryview(c).nbytes for c in inline)
        self.last_size = size
        self._drop_pieces_except(names)
        return self.last_written

    def _drop_pieces_except(self, names: set[str]) -> None:
        try:
            held = list(self._pieces.iterdir())
        except FileNotFoundError:
            return
        for path in held:
            if path.name not in names:  # also temporary files a crash left behind
                path.unlink(missing_ok=True)


class MemorySnapshotStore:
    """The latest snapshot in memory."""

    def __init__(self) -> None:
        self.blob: bytes | None = None
        self.saves = 0

    def load(self) -> bytes | None:
        return self.blob

    def save(self, parts: Parts) -> int:
        self.blob = join_parts(parts)
        self.saves += 1
        return len(self.blob)
