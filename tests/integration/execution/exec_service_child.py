"""The execution service for the kill trials: ``quant.execution.main.build(settings, deps)``
in live mode (the Upstox adapter against the simulator), on real Kafka and a real journal.

Run by :mod:`trials_kit` as ``python exec_service_child.py CONFIG.json`` and SIGKILLed at
random points. It is ``quant execution --mode live`` with two things injected through
``Deps`` instead of read from the environment: the clock (the simulator's: wall clock +
the offset the harness measured, so market hours agree) and the instrument catalog (the
lab's instruments). Intents come on ``orders.intents``, ticks on ``market.equity.ticks``
(both published by the harness); reads and the kill switch go through the service's HTTP
API with a trader key this process creates on its first start (written to ``key_file``).
One line ``{"op": "ready", "report": {...}, "api": URL}`` on stdout once it is ready and
has a quote for every instrument: the service reads ticks from the end of the topic under
a new group, so for a moment after a (re)start it has none, and an intent then would be
refused ``NO_QUOTE`` instead of testing the order path.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from quant.bus.kafka import KafkaBus
from quant.execution.engine import ExecutionEngine, RecoveryReport
from quant.execution.main import build
from quant.execution.settings import ExecutionSettings
from quant.runtime.deps import Deps, FixedCatalog
from quant.runtime.status import StatusBoard
from quant.store.postgres import PostgresStore
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.upstox.instruments import parse_master
from quant.upstox.settings import UpstoxSettings
from quant.users.directory import UserDirectory
from quant.users.hashing import Argon2Hasher
from quant.users.roles import Role

REPORTS: list[RecoveryReport] = []


class OffsetClock:
    """The simulator's clock, seen from this process: wall clock + a fixed offset."""

    def __init__(self, offset_ns: int) -> None:
        self._offset = offset_ns

    def now_ns(self) -> int:
        return time.time_ns() + self._offset


def _keep_reports() -> None:
    """Keep each recovery report for the ready line (the service only logs it)."""
    recover = ExecutionEngine.recover

    async def kept(self: ExecutionEngine, since_ns: int | None = None) -> RecoveryReport:
        report = await recover(self, since_ns)
        REPORTS.append(report)
        return report

    ExecutionEngine.recover = kept  # type: ignore[method-assign]


def _exit_with_the_harness() -> None:
    """End at once when stdin closes: the harness is gone (even if it was killed)."""

    def watch() -> None:
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _key(store: Any, key_file: Path) -> None:
    if key_file.exists():
        return
    users = UserDirectory(store, Argon2Hasher())
    key = users.create_user("trials", Role.TRADER)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.text)


async def main(cfg: dict[str, Any], master_json: bytes) -> None:
    journal = cfg["journal"]
    if journal.startswith(("postgresql://", "postgres://")):
        store: Any = PostgresStore(journal).open()
    else:
        store = SqliteRelationalStore(journal).open()
    _key(store, Path(cfg["key_file"]))
    master = parse_master(master_json)
    token_file = Path(cfg["token_file"])
    settings = ExecutionSettings(
        mode="live",
        api_host="127.0.0.1",
        api_port=int(cfg["api_port"]),
        upstox=UpstoxSettings(api_base=cfg["api_base"], hft_base=cfg["api_base"]),
        default_algo_name=cfg["algo"],
        intents_group=cfg["intents_group"],
        control_group=cfg["intents_group"] + "-control",
        ticks_group=cfg["intents_group"] + "-ticks",
        control_catchup_s=1.0,
    )
    registry = CollectorRegistry()
    deps = Deps(
        clock=OffsetClock(int(cfg["clock_offset_ns"])),
        registry=registry,
        board=StatusBoard(registry),
        bus=KafkaBus(cfg["kafka"], client_id="exec-trials"),
        instruments=FixedCatalog(master.instruments, "the trials' instruments"),
        relational=store,
        token=lambda: token_file.read_text().strip(),
    )
    urls: list[str] = []
    service = build(settings, deps, on_serving=urls.append)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    wanted = {i.instrument_key for i in master.instruments}
    while True:  # ready, and a quote for every instrument (see the module docstring)
        engine = service.engine
        if service.ready()[0] and engine is not None and wanted <= set(engine.marks()):
            break
        if task.done():
            await task
            raise RuntimeError("the execution service ended before it was ready")
        await asyncio.sleep(0.02)
    report = dataclasses.asdict(REPORTS[-1]) if REPORTS else {}
    sys.stdout.write(json.dumps({"op": "ready", "report": report, "api": urls[-1]}) + "\n")
    sys.stdout.flush()
    await task


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    _keep_reports()
    _exit_with_the_harness()
    with contextlib.suppress(KeyboardInterrupt):
        config = json.loads(Path(sys.argv[1]).read_text())
        asyncio.run(main(config, Path(config["instruments_file"]).read_bytes()))
