"""``quant sync-instruments`` end to end: the simulator's master into a real PostgreSQL.

Runs the command as a user does (a subprocess with ``QUANT_POSTGRES__DSN``): the first run
inserts every instrument, the second reports them all unchanged, and a truncated
download from another host fails with exit status 1 and leaves the stored rows intact.
Symbol resolution then works on the stored rows (RELIANCE, "Nifty 50", an option).
"""

from __future__ import annotations

import asyncio
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_harness import sim_config

from quant.sim.server import SimServer
from quant.store.postgres import PostgresStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPORT = re.compile(r"(\d+) instruments: (\d+) inserted, (\d+) updated, (\d+) unchanged")


def _sync(dsn: str, assets: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QUANT_POSTGRES__DSN": dsn, "QUANT_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "quant.cli", "sync-instruments", "--assets-base", assets],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def truncated_assets(tmp_path: Path) -> Iterator[str]:
    """A host whose NSE.json.gz is cut in half (and whose BSE.json.gz is missing)."""
    folder = tmp_path / "market-quote" / "instruments" / "exchange"
    folder.mkdir(parents=True)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


def test_sync_is_idempotent_and_a_truncated_master_changes_nothing(
    fresh_postgres_dsn: str, truncated_assets: str, tmp_path: Path
) -> None:
    async def with_sim() -> tuple[bytes, str, str]:
        async with SimServer(sim_config()) as sim:
            first = await asyncio.to_thread(_sync, fresh_postgres_dsn, sim.base_url)
            second = await asyncio.to_thread(_sync, fresh_postgres_dsn, sim.base_url)
            assert first.returncode == 0, first.stderr
            assert second.returncode == 0, second.stderr
            return sim.state.master_gz("NSE"), first.stdout, second.stdout

    nse_gz, first, second = asyncio.run(with_sim())
    first_report, second_report = REPORT.search(first), REPORT.search(second)
    assert first_report is not None, first
    assert second_report is not None, second
    total, inserted, updated, unchanged = map(int, first_report.groups())
    assert total > 20_000
    assert (inserted, updated, unchanged) == (total, 0, 0)
    again = tuple(map(int, second_report.groups()))
    assert again == (total, 0, 0, total)

    exchange = tmp_path / "market-quote" / "instruments" / "exchange"
    (exchange / "NSE.json.gz").write_bytes(nse_gz[: len(nse_gz) // 2])
    bad = _sync(fresh_postgres_dsn, truncated_assets)
    assert bad.returncode == 1
    assert "stored instruments unchanged" in bad.stderr

    store = PostgresStore(fresh_postgres_dsn).open()
    try:
        reliance = store.resolve_symbol("RELIANCE")
        assert reliance is not None
        assert reliance.instrument_key == "NSE_EQ|INE002A01018"
        assert reliance.lot_size >= 1
        assert reliance.tick_size_paise > 0
        nifty = store.get_instrument("NSE_INDEX|Nifty 50")
        assert nifty is not None
        option = next(i for i in store.search_instruments("NIFTY 2", 30) if i.is_option)
        assert option.expiry is not None
        assert option.strike_paise
        assert option.freeze_quantity > 0
        assert store.resolve_symbol(option.trading_symbol) == option
    finally:
        store.close()
