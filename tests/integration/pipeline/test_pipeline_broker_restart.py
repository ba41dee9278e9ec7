"""The pipeline through a Kafka broker crash: no tick lost or duplicated in QuestDB.

Simulator -> ingestor -> private Kafka broker -> feature service -> QuestDB. Mid-stream
the broker is killed (SIGKILL) and started again on the same port and data. The
idempotent producer keeps the ticks queued and retries; the feature consumer resumes
from its committed offsets. Afterwards every tick the ingestor handed to Kafka is in
QuestDB's ``ticks`` exactly once, with its features, and nothing else is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
import pytest
from pipeline_harness import (
    RecordingBus,
    day_bounds_ns,
    live_feature_service,
    open_market,
    run_ingestor_for,
    sim_config,
)
from prometheus_client import CollectorRegistry

from quant.bus import codecs
from quant.bus.kafka import KafkaBus
from quant.core.clock import IST
from quant.features.adapters import StoreSink
from quant.features.main import run_features
from quant.sim.server import SimServer
from quant.store.questdb_ticks import QuestDBTickStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START = datetime(2026, 12, 3, 9, 14, 0, tzinfo=IST)  # a day no other test writes


def _rows(
    dsn: str, keys: list[str], lo: int, hi: int, *, enriched: bool = False
) -> list[tuple[str, int]]:
    """(instrument_key, ts) of the stored ticks of ``keys`` in [lo, hi); with ``enriched``
    only those with their features (``ts_enriched`` set)."""
    only = " AND ts_enriched IS NOT NULL" if enriched else ""
    with psycopg.connect(dsn, autocommit=True) as conn:
        got = conn.execute(
            "SELECT instrument_key, cast(ts AS long) FROM ticks "  # noqa: S608 - fixed text
            f"WHERE ts >= %s::timestamp_ns AND ts < %s::timestamp_ns{only}".encode(),
            (lo, hi),
        ).fetchall()
    wanted = set(keys)
    return [(str(k), int(ts)) for k, ts in got if k in wanted]


async def test_no_tick_lost_or_duplicated_across_a_broker_crash(
    kafka_server_factory: Callable[[], Any], questdb: Any
) -> None:
    broker = kafka_server_factory()
    bus = RecordingBus(KafkaBus(broker.bootstrap, client_id="pipeline-restart"))
    store = QuestDBTickStore(ilp_conf=questdb.ilp_conf, pg_dsn=questdb.pg_dsn).open()
    sink = StoreSink.batched(store)
    try:
        async with SimServer(sim_config(seed=12, start=START)) as sim:
            market = await open_market(sim)
            service = live_feature_service(
                bus.inner, broker.bootstrap, sink, market, CollectorRegistry()
            )
            stop_ingest, stop_features = asyncio.Event(), asyncio.Event()
            async with asyncio.TaskGroup() as tg:
                ingest = tg.create_task(
                    run_ingestor_for(market, bus, broker.bootstrap, stop_ingest)
                )
                tg.create_task(run_features(service, stop_features))
                await asyncio.sleep(10.0)
                before = len(bus.sent)
                await asyncio.to_thread(broker.kill)
                await asyncio.sleep(4.0)  # ticks keep coming while the broker is down
                during = len(bus.sent) - before
                await asyncio.to_thread(broker.start)
                await asyncio.sleep(10.0)
                stop_ingest.set()
                await ingest
                published = {
                    (t.instrument_key, t.ts_event)
                    for t in (codecs.decode_tick(v) for _, v in bus.sent)
                }
                keys = sorted({k for k, _ in published})
                lo, hi = day_bounds_ns(START)

                def stored() -> int:
                    store.wait_visible(30)
                    return len(_rows(questdb.pg_dsn, keys, lo, hi, enriched=True))

                for _ in range(120):
                    if await asyncio.to_thread(stored) >= len(published):
                        break
                    await asyncio.sleep(0.5)
                stop_features.set()
        assert before > 50
        assert during > 20, "the ingestor should keep publishing while the broker is down"
        await asyncio.to_thread(store.wait_visible, 60)
        for enriched in (False, True):
            rows = _rows(questdb.pg_dsn, keys, lo, hi, enriched=enriched)
            assert len(rows) == len(set(rows)), "duplicates in ticks"
            assert set(rows) == published, (
                f"ticks{' with features' if enriched else ''}: {len(published - set(rows))} "
                f"lost, {len(set(rows) - published)} extra"
            )
    finally:
        sink.close()
        store.close()
