"""A single-node Kafka (KRaft broker + controller) on 127.0.0.1, run from the cached jars.

Used by :mod:`quant.devinfra.servers` and the ``kafka_bootstrap`` /
``kafka_server_factory`` pytest fixtures. The data folder is formatted once
(``StorageTool format --standalone``); later starts reuse it with the same ports, so a
restarted broker keeps its topics and messages and clients reconnect to the same address.
"""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from quant.devinfra import cds, fetch
from quant.devinfra.errors import InfraError
from quant.devinfra.jvm import JvmServer
from quant.devinfra.process import ManagedProcess, free_port, port_open

log = logging.getLogger(__name__)

HEAP = "-Xmx512m"
FORMAT_TIMEOUT_S = 120.0

_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{ctl}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}
advertised.listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# a broker SIGKILLed and restarted must wait out its old session before it registers again
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=2500
auto.create.topics.enable=true
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
# the compaction dedupe buffer is a heap array (128 MiB by default): 16 MiB is plenty for
# the small compacted topics of one node, and a smaller old generation to scan
log.cleaner.dedupe.buffer.size=16777216
log.retention.hours=168
"""


def _cluster_id() -> str:
    """A Kafka cluster id: url-safe base64 of a random UUID, as ``random-uuid`` prints."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class KafkaServer(JvmServer):
    """One KRaft node; ``port`` is the PLAINTEXT listener, ``controller_port`` the quorum."""

    name = "kafka"
    min_java = fetch.KAFKA_MIN_JAVA

    def __init__(
        self,
        root: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        die_with_parent: bool = False,
        production_jvm: bool = False,
    ) -> None:
        """``production_jvm``: run the JVM as a production broker does, with the optimising
        compiler and G1 (5 ms pause goal). Off by default: the client compiler and the
        serial collector start faster and use less CPU in the short runs of tests and a
        laptop, but under sustained load C1 code costs more CPU per request (broker 68% ->
        50% of a core at 10k ticks/s) and serial young collections paused every request
        for 6-29 ms every ~2 s, the largest source of the pipeline's p99 latency
        (benchmarks turn it on)."""
        super().__init__(root, die_with_parent=die_with_parent)
        self.production_jvm = production_jvm
        self._ports_chosen_here = port is None and controller_port is None
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.data_dir = self.root / "data"
        self.config_path = self.root / "server.properties"
        self._java: Path | None = None
        self._libs: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def address(self) -> str:
        return self.bootstrap

    def ports(self) -> dict[str, int]:
        return {"port": self.port, "controller_port": self.controller_port}

    def _repick_ports(self) -> None:
        # the formatted quorum state names the controller port: start from a fresh folder
        self.port, self.controller_port = free_port(), free_port()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self._process = None

    def env(self) -> dict[str, str]:
        return {"QUANT_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap}

    def prepare(self) -> None:
        self._libs = libs = fetch.kafka_libs()
        self._java = java = fetch.java(fetch.KAFKA_MIN_JAVA)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            _PROPERTIES.format(port=self.port, ctl=self.controller_port, data=self.data_dir)
        )
        if (self.data_dir / "meta.properties").is_file():
            return
        argv = [
            str(java),
            *cds.jvm_flags("kafka", java, self.root, record=False),
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-cp",
            f"{libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "-t",
            _cluster_id(),
            "-c",
            str(self.config_path),
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=FORMAT_TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            raise InfraError(f"kafka storage format failed: {(done.stdout + done.stderr)[-2000:]}")

    def command(self) -> list[str]:
        if self._java is None or self._libs is None:
            raise InfraError("kafka: prepare() must run before launch")
        return [
            str(self._java),
            *cds.jvm_flags("kafka", self._java, self.root),
            HEAP,
            "-Xms64m",
            *(
                ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=5")
                if self.production_jvm
                else ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
            ),
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.log.org.apache.kafka=info",
            "-cp",
            f"{self._libs}/*",
            "kafka.Kafka",
            str(self.config_path),
        ]

    def build_process(self) -> ManagedProcess:
        return ManagedProcess(
            "kafka",
            log_path=self.root / "kafka.log",
            marker=str(self.config_path),
            cwd=self.root,
        )

    def healthy(self) -> bool:
        if not port_open(self.port):
            return False
        from confluent_kafka.admin import AdminClient

        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "socket.connection.setup.timeout.ms": 2000,
            "logger": logging.getLogger("quant.devinfra.kafka.probe"),
        }
        admin = AdminClient(conf)
        try:
            metadata = admin.list_topics(timeout=3)
        except Exception as e:  # KafkaException: not ready yet; the caller polls again
            log.debug("kafka metadata request failed: %s", e)
            return False
        return bool(metadata.brokers)
