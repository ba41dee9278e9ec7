"""Fetch and locate the server binaries: Kafka and QuestDB jars, a JDK, PostgreSQL.

Called by the server classes in this package (``kafka``, ``questdb``, ``postgres``) before
they start. Jars come from Maven Central through ``mvn`` (a tiny generated pom and
``dependency:copy-dependencies``) into the per-user cache, once; later calls reuse them.
The cache is ``~/.cache/quant-platform`` unless ``QUANT_CACHE_DIR`` names another folder.
A file lock makes concurrent fetches (several test sessions, CI) safe, and a fetch is
written to a temporary folder and renamed, so a half-finished download is never used.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from quant.devinfra.errors import InfraError

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.3.1"
SCALA_VERSION = "2.13"
SLF4J_VERSION = "2.0.17"
QUESTDB_VERSION = "9.3.4"
# QuestDB up to 9.3.x runs on Java 17; 9.4 and later need Java 25.
QUESTDB_MIN_JAVA = 17
KAFKA_MIN_JAVA = 17
MVN_TIMEOUT_S = 600.0

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>quant.devinfra</groupId>
  <artifactId>{name}-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{deps}
  </dependencies>
</project>
"""
_DEP = (
    "    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
    "<version>{v}</version></dependency>"
)


def cache_dir() -> Path:
    """The per-user download cache (``QUANT_CACHE_DIR`` or ``~/.cache/quant-platform``)."""
    override = os.environ.get("QUANT_CACHE_DIR")
    base = Path(override) if override else Path.home() / ".cache" / "quant-platform"
    base.mkdir(parents=True, exist_ok=True)
    return base


@contextmanager
def _locked(name: str) -> Iterator[None]:
    lock_path = cache_dir() / f".{name}.lock"
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mvn_copy(name: str, coords: Sequence[str], dest: Path, *, transitive: bool) -> None:
    """Resolve ``group:artifact:version`` coordinates with Maven into ``dest`` (atomic)."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError("mvn not found: run scripts/install-system-deps.sh")
    deps = "\n".join(_DEP.format(g=g, a=a, v=v) for g, a, v in (c.split(":") for c in coords))
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=dest.parent))
    try:
        (work / "pom.xml").write_text(_POM.format(name=name, deps=deps))
        argv = [
            mvn,
            "-q",
            "-B",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DexcludeTransitive={'false' if transitive else 'true'}",
            f"-DoutputDirectory={work / 'libs'}",
        ]
        log.info("fetching %s from Maven Central: %s", name, ", ".join(coords))
        done = subprocess.run(
            argv,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=MVN_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-2000:]
            raise InfraError(f"mvn failed to fetch {name} ({done.returncode}): {tail}")
        work.rename(dest)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def kafka_libs() -> Path:
    """The folder of jars forming the Kafka broker classpath (fetched on first use)."""
    dest = cache_dir() / f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}"
    with _locked("kafka"):
        if not (dest / "libs").is_dir():
            _mvn_copy(
                "kafka",
                [
                    f"org.apache.kafka:kafka_{SCALA_VERSION}:{KAFKA_VERSION}",
                    f"org.slf4j:slf4j-api:{SLF4J_VERSION}",
                    f"org.slf4j:slf4j-simple:{SLF4J_VERSION}",
                ],
                dest,
                transitive=True,
            )
    return dest / "libs"


def questdb_jar() -> Path:
    """The QuestDB server jar (fetched on first use; its native libraries are inside)."""
    dest = cache_dir() / f"questdb-{QUESTDB_VERSION}"
    with _locked("questdb"):
        if not (dest / "libs").is_dir():
            _mvn_copy("questdb", [f"org.questdb:questdb:{QUESTDB_VERSION}"], dest, transitive=False)
    jar = dest / "libs" / f"questdb-{QUESTDB_VERSION}.jar"
    if not jar.is_file():
        raise InfraError(f"QuestDB jar missing after fetch: {jar}")
    return jar


def _java_major(java_home: Path) -> int | None:
    release = java_home / "release"
    if not release.is_file():
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(), re.MULTILINE)
    return int(match.group(1)) if match else None


def _java_homes() -> Iterator[Path]:
    if env_home := os.environ.get("JAVA_HOME"):
        yield Path(env_home)
    if on_path := shutil.which("java"):
        yield Path(on_path).resolve().parent.parent
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        yield from sorted(p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink())


def java(min_major: int) -> Path:
    """A ``java`` executable of at least ``min_major`` (JAVA_HOME, PATH, /usr/lib/jvm)."""
    for home in _java_homes():
        exe = home / "bin" / "java"
        major = _java_major(home)
        if exe.is_file() and major is not None and major >= min_major:
            return exe
    raise InfraError(f"no Java {min_major}+ found: run scripts/install-system-deps.sh")


def postgres_bin() -> Path:
    """The PostgreSQL ``bin`` folder holding ``initdb``, ``postgres`` and ``pg_isready``."""
    candidates: list[Path] = []
    if on_path := shutil.which("initdb"):
        candidates.append(Path(on_path).resolve().parent)
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = [p for p in root.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: -int(p.name))]
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    raise InfraError("PostgreSQL binaries not found: run scripts/install-system-deps.sh")
