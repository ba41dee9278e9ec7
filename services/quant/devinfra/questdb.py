"""QuestDB on 127.0.0.1 (REST/ILP-over-HTTP, PG wire, ILP/TCP, health), telemetry off.

Used by :mod:`quant.devinfra.servers` and the ``questdb`` pytest fixture. Ports are set
through ``QDB_*`` environment variables; the data lives under ``root/db``. Healthy means
``/exec?query=select 1`` answers over HTTP and ``select 1`` answers over PG wire.
A new root gets QuestDB's unpacked web console and default config from a template in the
cache (saved by the first server to start), which saves seconds per fresh start.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from quant.devinfra import cds, fetch
from quant.devinfra.base import READY_TIMEOUT_S
from quant.devinfra.errors import InfraError
from quant.devinfra.jvm import JvmServer
from quant.devinfra.process import ManagedProcess, free_port, port_open

log = logging.getLogger(__name__)

PG_USER = "admin"
PG_PASSWORD = "quest"  # noqa: S105 - QuestDB default, loopback-only dev server
PG_DATABASE = "qdb"
# what QuestDB unpacks into a new root: kept once in the cache, copied into new roots
_TEMPLATE_PARTS = ("conf", "public", "import")

# QuestDB's worker threads spin (then yield, then nap) for thousands of empty loops before
# they sleep. On a 2-core machine that spin competes with the feature engine and Kafka: in
# bench runs it was half of QuestDB's CPU per written tick (31 -> 16 us per tick of ticks +
# enriched rows in 5,000-row batches). Short thresholds put idle workers to sleep almost at
# once; ingest goes through the write pool's queue, so throughput is unchanged.
IDLE_SPIN_LIMITS = {
    f"QDB_{pool}_WORKER_{phase}_THRESHOLD": value
    for pool in ("SHARED", "WAL_APPLY")
    for phase, value in (("YIELD", "5"), ("NAP", "10"), ("SLEEP", "20"))
}

# A commit whose oldest row is not newer than the table's newest (with DEDUP keys an equal
# timestamp counts: feed ticks share the frame's millisecond, and a checkpoint's flush
# writes a millisecond whose other rows are still on lagging partitions) is merged out of
# order. Below this prefix size QuestDB rewrites the whole partition instead of splitting
# off the tail: in bench runs 10-250x write amplification and 40-175 ms of a core per such
# commit until a day's partition reached the default 50 MiB; a long-running server is past
# that within a minute, so a small threshold gives short-lived dev servers the same cost.
O3_SPLIT = {"QDB_CAIRO_O3_PARTITION_SPLIT_MIN_SIZE": "256K"}


def shared_workers(cpus: int | None = None) -> int:
    """QuestDB's shared and WAL-apply worker threads: half the cores each, at least one.

    The dev server shares the machine with Kafka and the services. With as many workers as
    cores, each 10k-row ILP request became a burst that held both cores of a 2-core machine
    for tens of milliseconds, and the feature engine's p99 latency followed the bursts.
    """
    return max(1, (cpus if cpus is not None else os.cpu_count() or 2) // 2)


def _template_dir() -> Path:
    return fetch.cache_dir() / f"questdb-{fetch.QUESTDB_VERSION}" / "template"


class QuestDBServer(JvmServer):
    """One QuestDB; ``http_port`` serves REST and ILP over HTTP, ``pg_port`` PG wire."""

    name = "questdb"
    min_java = fetch.QUESTDB_MIN_JAVA

    def __init__(
        self,
        root: Path,
        *,
        http_port: int | None = None,
        pg_port: int | None = None,
        ilp_tcp_port: int | None = None,
        min_http_port: int | None = None,
        die_with_parent: bool = False,
    ) -> None:
        super().__init__(root, die_with_parent=die_with_parent)
        given = (http_port, pg_port, ilp_tcp_port, min_http_port)
        self._ports_chosen_here = all(p is None for p in given)
        self.http_port = http_port or free_port()
        self.pg_port = pg_port or free_port()
        self.ilp_tcp_port = ilp_tcp_port or free_port()
        self.min_http_port = min_http_port or free_port()
        self._java: Path | None = None
        self._jar: Path | None = None

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def ilp_conf(self) -> str:
        return f"http::addr={self.host}:{self.http_port};"

    @property
    def pg_dsn(self) -> str:
        return f"postgresql://{PG_USER}:{PG_PASSWORD}@{self.host}:{self.pg_port}/{PG_DATABASE}"

    @property
    def address(self) -> str:
        return self.http_url

    def ports(self) -> dict[str, int]:
        return {
            "http_port": self.http_port,
            "pg_port": self.pg_port,
            "ilp_tcp_port": self.ilp_tcp_port,
            "min_http_port": self.min_http_port,
        }

    def _repick_ports(self) -> None:
        self.http_port, self.pg_port = free_port(), free_port()
        self.ilp_tcp_port, self.min_http_port = free_port(), free_port()
        self._process = None  # its environment names the old ports

    def env(self) -> dict[str, str]:
        return {
            "QUANT_QUESTDB__HOST": self.host,
            "QUANT_QUESTDB__HTTP_PORT": str(self.http_port),
            "QUANT_QUESTDB__PG_PORT": str(self.pg_port),
        }

    def prepare(self) -> None:
        self._jar = fetch.questdb_jar()
        self._java = fetch.java(fetch.QUESTDB_MIN_JAVA)
        db = self.root / "db"
        template = _template_dir()
        if not db.exists() and template.is_dir():
            # skip the seconds QuestDB spends unpacking its web console into a new root
            shutil.copytree(template, db, symlinks=True)
        db.mkdir(parents=True, exist_ok=True)

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        super().wait_ready(timeout)
        template = _template_dir()
        if template.is_dir():
            return
        staging = Path(tempfile.mkdtemp(prefix=".template-", dir=template.parent))
        try:
            for part in _TEMPLATE_PARTS:
                if (self.root / "db" / part).is_dir():
                    shutil.copytree(self.root / "db" / part, staging / part, symlinks=True)
            staging.rename(template)
        except OSError as e:
            if not template.is_dir():  # else another server saved it first: nothing lost
                log.warning("questdb template not saved, new roots unpack slowly: %s", e)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def command(self) -> list[str]:
        if self._java is None or self._jar is None:
            raise InfraError("questdb: prepare() must run before launch")
        return [
            str(self._java),
            *cds.jvm_flags("questdb", self._java, self.root),
            "-Xms128m",
            "-Xmx512m",
            "-XX:+ExitOnOutOfMemoryError",
            "--add-exports",
            "java.base/jdk.internal.math=io.questdb",
            "-p",
            str(self._jar),
            "-m",
            "io.questdb/io.questdb.ServerMain",
            "-d",
            str(self.root / "db"),
            "-n",
        ]

    def build_process(self) -> ManagedProcess:
        env = dict(os.environ)
        env.update(
            {
                "QDB_HTTP_BIND_TO": f"{self.host}:{self.http_port}",
                "QDB_PG_NET_BIND_TO": f"{self.host}:{self.pg_port}",
                "QDB_LINE_TCP_NET_BIND_TO": f"{self.host}:{self.ilp_tcp_port}",
                "QDB_LINE_UDP_ENABLED": "false",
                "QDB_HTTP_MIN_BIND_TO": f"{self.host}:{self.min_http_port}",
                "QDB_TELEMETRY_ENABLED": "false",
                "QDB_SHARED_WORKER_COUNT": str(shared_workers()),
                "QDB_WAL_APPLY_WORKER_COUNT": str(shared_workers()),
                **IDLE_SPIN_LIMITS,
                **O3_SPLIT,
            }
        )
        return ManagedProcess(
            "questdb",
            log_path=self.root / "questdb.log",
            marker=str(self.root / "db"),
            env=env,
            cwd=self.root,
        )

    def http_query(self, sql: str, timeout: float = 3.0) -> dict[str, object]:
        """Run ``sql`` through ``/exec`` and return the decoded JSON answer."""
        query = urllib.parse.urlencode({"query": sql})
        with urllib.request.urlopen(  # noqa: S310 - fixed http://127.0.0.1 URL
            f"{self.http_url}/exec?{query}", timeout=timeout
        ) as response:
            answer: dict[str, object] = json.loads(response.read())
        return answer

    def healthy(self) -> bool:
        if not (port_open(self.http_port) and port_open(self.pg_port)):
            return False
        try:
            if self.http_query("select 1").get("dataset") != [[1]]:
                return False
        except (urllib.error.URLError, OSError, ValueError) as e:
            log.debug("questdb http probe failed: %s", e)
            return False
        import psycopg

        try:
            with psycopg.connect(self.pg_dsn, connect_timeout=3, autocommit=True) as conn:
                row = conn.execute("select 1").fetchone()
        except psycopg.Error as e:
            log.debug("questdb pg probe failed: %s", e)
            return False
        return row is not None and row[0] == 1
