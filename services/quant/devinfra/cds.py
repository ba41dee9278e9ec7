"""Class-data sharing for the JVM servers: record the loaded classes once, start faster after.

Used by :mod:`quant.devinfra.kafka` and :mod:`quant.devinfra.questdb`. The first run of a
server (per server kind and Java version) records a dynamic CDS archive into its own root
(``-XX:ArchiveClassesAtExit``), written by the JVM when it exits; after a polite stop the
archive moves into the cache, and every later start maps it (``-XX:SharedArchiveFile``),
which roughly halves the JVM start-up time on a busy 2-core machine. A stale or damaged
archive is refused by the JVM (``-Xshare:auto``), which then starts without it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from quant.devinfra.fetch import cache_dir

log = logging.getLogger(__name__)

STAGING_NAME = "classes.jsa"
# writing the archive at exit can take a while on a busy machine: wait before SIGKILL
RECORDING_STOP_TIMEOUT_S = 120.0


def _java_tag(java: Path) -> str:
    """A short tag naming the JDK, so each JDK gets its own archive."""
    home = java.resolve().parent.parent
    return home.name.replace(os.sep, "_")


def archive_path(kind: str, java: Path) -> Path:
    return cache_dir() / f"{kind}-{_java_tag(java)}.jsa"


def jvm_flags(kind: str, java: Path, root: Path, *, record: bool = True) -> list[str]:
    """Flags that use the archive, or record one into ``root`` (when ``record``)."""
    archive = archive_path(kind, java)
    if archive.is_file():
        return ["-Xshare:auto", f"-XX:SharedArchiveFile={archive}"]
    if not record:
        return []
    staging = root / STAGING_NAME
    staging.unlink(missing_ok=True)
    (root / f"{STAGING_NAME}.recording").touch()
    return [f"-XX:ArchiveClassesAtExit={staging}"]


def keep(kind: str, java: Path, root: Path) -> None:
    """After a polite stop, move a recorded archive into the cache (first one wins)."""
    staging = root / STAGING_NAME
    (root / f"{STAGING_NAME}.recording").unlink(missing_ok=True)
    if not staging.is_file():
        return
    archive = archive_path(kind, java)
    try:
        os.link(staging, archive)
        log.info("saved the %s class-data archive %s", kind, archive)
    except FileExistsError:
        pass
    finally:
        staging.unlink(missing_ok=True)


def recording(root: Path) -> bool:
    """Whether the server in ``root`` was started to record an archive."""
    return (root / STAGING_NAME).exists() or (root / f"{STAGING_NAME}.recording").exists()


def discard(root: Path) -> None:
    """Drop an archive a killed server may have left half-written."""
    (root / STAGING_NAME).unlink(missing_ok=True)
    (root / f"{STAGING_NAME}.recording").unlink(missing_ok=True)
