"""``quant sync-instruments`` refusals end to end: the simulator's master into a real PostgreSQL.

The command runs as a user runs it (a subprocess with ``QUANT_POSTGRES__DSN``) against the
simulator, whose fault hooks serve a damaged master (``serve_master``) or serve it slowly
(``slow_master``). After a first good sync, each refusal — a segment shrunk to half of
yesterday's rows, a master with 10% impossible rows, a download over the size limit, a
sync over its deadline — must exit 1 with one line naming the rule and the numbers,
count in the metrics file, and leave every row and column of the ``instruments`` table
(``updated_at`` and ``expired`` included) as it was. ``--force`` then accepts the shrunk
master.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pipeline_harness import sim_config
from prometheus_client import CollectorRegistry

from quant.sim.server import SimServer
from quant.store.postgres import PostgresStore
from quant.sync.checks import SyncLimits, SyncRefused
from quant.sync.metrics import SyncMetrics
from quant.sync.service import sync_instruments
from quant.upstox.instruments import UpstoxInstrumentSource

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _sync(
    dsn: str, assets: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quant.cli", "sync-instruments", "--assets-base", assets, *args],
        env={**os.environ, "QUANT_POSTGRES__DSN": dsn, "QUANT_LOG_LEVEL": "INFO", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _table(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT * FROM instruments ORDER BY instrument_key").fetchall()


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "instrument sync failed" in line]


async def test_each_refusal_leaves_yesterdays_table_and_force_accepts(
    fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    dsn = fresh_postgres_dsn
    metrics = tmp_path / "sync.prom"
    async with SimServer(sim_config()) as sim:
        url = sim.base_url

        async def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
            return await asyncio.to_thread(_sync, dsn, url, "--metrics-file", str(metrics), *args,
                                           env=env)  # fmt: skip

        first = await run()
        assert first.returncode == 0, first.stderr
        nse_eq = [r for r in sim.state.universe.exchange_rows("NSE") if r["segment"] == "NSE_EQ"]
        assert f"NSE_EQ: {len(nse_eq):,} rows, yesterday none (new)" in first.stdout
        yesterday = _table(dsn)
        assert len(yesterday) > 20_000

        # 1. half of NSE_EQ (and one lot size changed, to see --force apply it)
        nse = sim.state.universe.exchange_rows("NSE")
        dropped = {r["instrument_key"] for r in nse_eq[len(nse_eq) // 2 :]}
        half = [r for r in nse if r["instrument_key"] not in dropped]
        changed_key = str(nse_eq[0]["instrument_key"])
        half = [dict(r, lot_size=7) if r["instrument_key"] == changed_key else r for r in half]
        sim.serve_master("NSE", half)
        shrunk = await run()
        kept = len(nse_eq) - len(dropped)
        assert shrunk.returncode == 1
        (line,) = _error_lines(shrunk.stderr)  # one line: the rule and the numbers
        assert line.endswith(
            f"refused by the row-count rule: NSE_EQ: {kept:,} rows, yesterday "
            f"{len(nse_eq):,} (50%) < 90%; use --force to accept"
        )
        assert 'instrument_sync_refusals_total{rule="row_count"} 1.0' in metrics.read_text()
        assert _table(dsn) == yesterday

        # 2. 10% of the rows with a lot size of 0
        bad = [dict(r, lot_size=0) if i % 10 == 0 else r for i, r in enumerate(nse)]
        sim.serve_master("NSE", bad)
        refused = await run()
        assert refused.returncode == 1
        (line,) = _error_lines(refused.stderr)
        assert "refused by the bad-rows rule:" in line
        assert "non-positive lot size" in line and "more than 1.0%" in line
        assert 'instrument_sync_refusals_total{rule="bad_rows"} 1.0' in metrics.read_text()
        assert _table(dsn) == yesterday

        # 3. a download over the size limit
        sim.restore_master()
        too_big = await run(QUANT_MAX_DOWNLOAD_BYTES="20000")
        assert too_big.returncode == 1
        (line,) = _error_lines(too_big.stderr)
        assert "download over the size limit" in line and "> 20,000" in line
        assert 'instrument_sync_refusals_total{rule="size_limit"} 1.0' in metrics.read_text()
        assert _table(dsn) == yesterday

        # 4. a sync over its deadline (the master trickles in)
        sim.slow_master(0.5)
        late = await run(QUANT_DEADLINE_S="1")
        assert late.returncode == 1
        (line,) = _error_lines(late.stderr)
        assert "refused by the deadline rule: the sync took longer than 1 s" in line
        assert 'instrument_sync_refusals_total{rule="deadline"} 1.0' in metrics.read_text()
        assert _table(dsn) == yesterday

        # 5. --force accepts the shrunk master
        sim.restore_master()
        sim.serve_master("NSE", half)
        forced = await run("--force")
        assert forced.returncode == 0, forced.stderr
        assert "(accepted with --force)" in forced.stdout
        assert "1 updated" in forced.stdout
        assert _table(dsn) != yesterday
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT lot_size FROM instruments WHERE instrument_key = %s", (changed_key,)
            ).fetchone()
        assert row == (7,)
        text = metrics.read_text()
        assert "instrument_sync_last_success_timestamp_seconds" in text
        assert 'instrument_sync_refusals_total{rule="row_count"}' not in text


async def test_a_sync_stuck_on_a_lock_is_cut_off_at_its_deadline_and_rolled_back(
    fresh_postgres_dsn: str,
) -> None:
    """Another session holds the instruments table: the database cuts the sync's
    statement off at the deadline (lock_timeout/statement_timeout), nothing is written."""
    rows = [
        {"segment": "NSE_EQ", "name": f"C{i}", "exchange": "NSE", "isin": f"INE{i:06d}01018",
         "instrument_type": "EQ", "instrument_key": f"NSE_EQ|INE{i:06d}01018", "lot_size": 1,
         "tick_size": 5.0, "trading_symbol": f"S{i}", "exchange_token": str(i)}
        for i in range(50)
    ]  # fmt: skip
    body = gzip.compress(json.dumps(rows).encode())
    source = UpstoxInstrumentSource(
        "https://assets.test", ("NSE",),
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=body)),
    )  # fmt: skip
    store = PostgresStore(fresh_postgres_dsn).open()
    try:
        await sync_instruments(source, store, today=date(2026, 11, 24), progress=_noop)
        yesterday = _table(fresh_postgres_dsn)
        rows[0]["lot_size"] = 9
        body = gzip.compress(json.dumps(rows).encode())
        registry = CollectorRegistry()
        with psycopg.connect(fresh_postgres_dsn) as holder:
            holder.execute("LOCK TABLE instruments IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(SyncRefused, match=r"deadline rule: .*cut off by the database"):
                await sync_instruments(
                    source, store, today=date(2026, 11, 24), progress=_noop,
                    limits=SyncLimits(deadline_s=2.0), metrics=SyncMetrics(registry),
                )  # fmt: skip
            waited = time.monotonic() - started
            holder.rollback()
        assert 2.0 <= waited < 30  # cut off at the deadline, not left hanging on the lock
        assert registry.get_sample_value("instrument_sync_refusals_total", {"rule": "deadline"})
        assert _table(fresh_postgres_dsn) == yesterday
    finally:
        store.close()


def _noop(phase: str, done: int, total: int) -> None:
    del phase, done, total
