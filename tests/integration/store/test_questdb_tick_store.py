"""QuestDB tick store specifics: ingestion failures surface as StoreError, never vanish."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from quant.analytics.columns import from_ticks
from quant.core.events import FeedMode, Tick
from quant.store.columns import tick_batch
from quant.store.ports import StoreError
from quant.store.questdb_ticks import QuestDBTickStore

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_write_the_server_never_receives_raises_store_error(questdb: Any) -> None:
    store = QuestDBTickStore(
        # protocol_version given, so open() does not probe the (closed) ILP endpoint
        ilp_conf=f"http::addr=127.0.0.1:{_closed_port()};protocol_version=2;retry_timeout=0;",
        pg_dsn=f"postgresql://admin:quest@{questdb.host}:{questdb.pg_port}/qdb",
    ).open()
    try:
        with pytest.raises(StoreError, match="writing 1 rows to ticks"):
            tick = Tick("NSE_EQ|INE002A01018", FeedMode.LTPC, 1, 2, 3)
            store.write(tick_batch(from_ticks([tick])))
    finally:
        store.close()


def test_opening_against_an_unreachable_reader_raises_store_error(questdb: Any) -> None:
    store = QuestDBTickStore(
        ilp_conf=questdb.ilp_conf,
        pg_dsn=f"postgresql://admin:quest@127.0.0.1:{_closed_port()}/qdb?connect_timeout=1",
        connect_timeout=2,
    )
    with pytest.raises(StoreError, match="cannot open"):
        store.open()


def test_opening_against_an_unreachable_ingestion_endpoint_raises_store_error(
    questdb: Any,
) -> None:
    store = QuestDBTickStore(
        ilp_conf=f"http::addr=127.0.0.1:{_closed_port()};",
        pg_dsn=f"postgresql://admin:quest@{questdb.host}:{questdb.pg_port}/qdb",
    )
    with pytest.raises(StoreError, match="cannot open"):
        store.open()


def test_a_ticks_table_of_an_earlier_version_gets_the_feature_columns(questdb: Any) -> None:
    import psycopg

    from quant.store import tables as C

    pg_dsn = f"postgresql://admin:quest@{questdb.host}:{questdb.pg_port}/qdb"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(b"DROP TABLE IF EXISTS ticks")  # every test writes its own keys
        raw = ", ".join(f"{c} LONG" for c in C.RAW_TICK_COLUMNS[2:])
        conn.execute(
            f"CREATE TABLE ticks (ts TIMESTAMP_NS, instrument_key SYMBOL, {raw}) "
            "TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, instrument_key)".encode()
        )
    store = QuestDBTickStore(ilp_conf=questdb.ilp_conf, pg_dsn=pg_dsn).open()
    try:
        store.wait_visible(30)  # a WAL table applies an ALTER asynchronously
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            rows = conn.execute(b"SELECT \"column\", type FROM table_columns('ticks')").fetchall()
        types = {str(name): str(kind) for name, kind in rows}
        assert list(types) == list(C.TICK_COLUMNS)
        assert types["session_vwap"] == "DOUBLE" and types["ts_enriched"] == "LONG"
    finally:
        store.close()
