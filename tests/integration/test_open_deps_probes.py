"""``open_deps`` watches every server it opened, and the probes see them stop and return.

Real servers: a private Kafka broker (stopped and started again) and PostgreSQL. What
``quant ingestor`` / ``quant features`` / ``quant gateway`` open is what is watched: the
board names Kafka while the broker is down (with the bootstrap servers and what to run)
and is ready again once it is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from quant.bus.settings import KafkaSettings
from quant.devinfra.kafka import KafkaServer
from quant.runtime.deps import open_deps
from quant.runtime.probes import probe_once
from quant.runtime.status import StatusBoard
from quant.store.settings import PostgresSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _probe_all(board: StatusBoard) -> None:
    for dependency in board.dependencies():
        await probe_once(board, dependency)


async def test_open_deps_watches_kafka_and_postgres(
    kafka_server_factory: Callable[[], KafkaServer], postgres_dsn: str
) -> None:
    broker = kafka_server_factory()
    async with open_deps(
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap),
        postgres=PostgresSettings(dsn=postgres_dsn),
    ) as deps:
        board = deps.board
        assert sorted(d.name for d in board.dependencies()) == ["Kafka", "PostgreSQL"]
        await _probe_all(board)
        assert board.ready() == (True, [])

        broker.stop()
        stopped = time.monotonic()
        await _probe_all(board)
        ok, reasons = board.ready()
        assert not ok
        assert len(reasons) == 1 and reasons[0].startswith("Kafka unavailable")
        assert broker.bootstrap in reasons[0]
        detect_s = time.monotonic() - stopped

        broker.start()
        started = time.monotonic()
        for _ in range(60):
            await _probe_all(board)
            if board.ready()[0]:
                break
        assert board.ready() == (True, [])
        print(
            f"\nKafka probe: down seen in {detect_s:.1f} s (one check), up again "
            f"{time.monotonic() - started:.1f} s after the broker was healthy"
        )
