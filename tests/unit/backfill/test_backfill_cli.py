"""``quant backfill`` end to end: clear errors before any request, a run against ``quant
sim`` into the embedded store of ``QUANT_DATA_DIR``, and a second run that skips it all."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from quant.cli import main
from quant.core.clock import IST
from quant.core.instruments import Instrument, InstrumentType
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.store.sqlite_ticks import SqliteTickStore

RELIANCE = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES", "NSE", "NSE_EQ",
    InstrumentType.EQUITY,
)  # fmt: skip
NIFTY = Instrument(
    "NSE_INDEX|Nifty 50", "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX
)


@pytest.fixture
def sim_url() -> Iterator[str]:
    """A simulator on its own thread and loop (the command runs its own asyncio.run)."""
    ready, done = threading.Event(), threading.Event()
    url: list[str] = []
    start = datetime(2026, 12, 8, 9, 14, tzinfo=IST)

    async def serve() -> None:
        async with SimServer(SimConfig(start=start, step_interval=0.5, ping_interval=None)) as s:
            url.append(s.base_url)
            ready.set()
            await asyncio.to_thread(done.wait)

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(30)
    yield url[0]
    done.set()
    thread.join(10)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = SqliteRelationalStore(tmp_path / "relational.sqlite").open()
    store.upsert_instruments([RELIANCE, NIFTY])
    store.close()
    monkeypatch.setenv("QUANT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUANT_UPSTOX__TOKEN_FILE", str(tmp_path / "no-token.json"))
    monkeypatch.setenv("QUANT_UPSTOX__API_BASE", "http://127.0.0.1:9")  # nothing there
    return tmp_path


def test_unknown_symbols_and_bad_ranges_fail_before_any_request(
    data_dir: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["backfill", "--symbols", "RELIANCE,NOPE,Nifty 50,zzz", "--from", "2026-11-02"]
    assert main([*args, "--to", "2026-11-06"]) == 2
    err = capfd.readouterr().err
    assert "unknown symbols" in err and "'NOPE', 'zzz'" in err
    assert (
        main(["backfill", "--symbols", "RELIANCE", "--from", "2026-11-06", "--to", "2026-11-02"])
        == 2
    )
    assert "is after" in capfd.readouterr().err
    assert main(["backfill", "--universe", "NO_SUCH", "--from", "2026-11-02"]) == 2
    assert "not a named universe" in capfd.readouterr().err
    log = data_dir / "termination-log"
    monkeypatch.setenv("QUANT_BACKFILL__TERMINATION_LOG", str(log))
    assert main(["backfill", "--symbols", "NOPE", "--days", "3", "--interval", "day"]) == 2
    summary = json.loads(log.read_text())
    assert summary["interval"] == "day" and "unknown symbol" in summary["error"]
    assert not (data_dir / "ticks.sqlite").exists()  # nothing was opened, nothing sent


def test_backfills_from_the_simulator_then_skips_what_is_stored(
    data_dir: Path, sim_url: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUANT_UPSTOX__API_BASE", sim_url)
    args = [
        "backfill",
        "--symbols",
        "RELIANCE,NIFTY 50",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-06",
    ]
    log = data_dir / "termination-log"
    monkeypatch.setenv("QUANT_BACKFILL__TERMINATION_LOG", str(log))
    monkeypatch.setenv("QUANT_TRADING_DAY", "2026-11-06")  # the operator's Job sets it too
    assert main(args) == 0
    out = capfd.readouterr().out
    assert "2 symbols: 3,750 candles written, 2 requests (0 chunks already stored)" in out
    assert json.loads(log.read_text()) == {
        "interval": "1minute", "symbols": 2, "requests": 2, "candles_written": 3750,
        "candles_dropped": 0, "gaps": 0, "errors": 0, "skipped_chunks": 0, "stopped": False,
    }  # fmt: skip
    assert "0 gaps, 0 bad candles dropped, 0 errors" in out
    ticks = SqliteTickStore(data_dir / "ticks.sqlite").open()
    assert ticks.count("ohlc") == 3_750
    ticks.close()
    assert main(args) == 0
    assert "0 requests (2 chunks already stored)" in capfd.readouterr().out
    assert main([*args, "--interval", "day", "--force"]) == 0
    assert "2 symbols: 10 candles written, 2 requests" in capfd.readouterr().out
