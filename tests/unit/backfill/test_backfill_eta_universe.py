"""The rate-limit ETA, the progress line, and symbol / universe resolution."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from quant.backfill.engine import BackfillProgress
from quant.backfill.eta import ceiling_rate, eta_seconds, format_duration, limit_seconds
from quant.backfill.progress import ProgressBar
from quant.backfill.universe import (
    NIFTY50,
    UnknownSymbols,
    resolve_symbols,
    split_symbols,
    universe_entries,
)
from quant.core.instruments import Instrument, InstrumentType
from quant.core.symbols import InstrumentIndex


def test_limit_seconds_follows_the_binding_window() -> None:
    assert limit_seconds(1) == 0
    assert limit_seconds(50) == 0 and limit_seconds(51) == 1  # 50/s
    assert limit_seconds(500) == 9 and limit_seconds(501) == 60  # 500/min
    assert limit_seconds(600) == 60
    assert limit_seconds(2001) == 1800  # 2,000 per 30 min
    assert limit_seconds(6600) == 3 * 1800  # the whole NSE list for 3 months
    assert ceiling_rate(600) == 10.0 and ceiling_rate(200) == 50.0


def test_eta_is_the_longer_of_the_limits_and_the_pace() -> None:
    # a fast start cannot hide the 30-minute window
    assert eta_seconds(done=400, total=3000, elapsed_s=8.0) == pytest.approx(1800 - 8)
    # a slow server: the pace says more than the limits
    assert eta_seconds(done=10, total=100, elapsed_s=10.0) == pytest.approx(90)
    assert eta_seconds(done=0, total=700, elapsed_s=0.0) == 60  # limits only, before any pace
    assert eta_seconds(done=0, total=10, elapsed_s=0.0) is None
    assert eta_seconds(done=10, total=10, elapsed_s=3.0) == 0
    assert format_duration(None) == "--:--" and format_duration(3725) == "1:02:05"


def test_the_progress_bar_on_a_pipe_writes_a_line_per_tenth() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, tty=False)
    for done in range(0, 101):
        bar(BackfillProgress(done, 100, done * 375, 0, 0, 0, done * 0.5))
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[-1].startswith("backfill [") and "100/100 requests, 37,500 candles" in lines[-1]
    assert "ETA 00:00" in lines[-1] and "ETA 00:01" in lines[0]


REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE", "NSE", "NSE_EQ", InstrumentType.EQUITY
)
INFY = Instrument("NSE_EQ|INE009A01021", "INFY", "INFOSYS", "NSE", "NSE_EQ", InstrumentType.EQUITY)
NIFTY = Instrument(
    "NSE_INDEX|Nifty 50", "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX
)
BSE_REL = Instrument(
    "BSE_EQ|INE002A01018", "RELIANCE", "RELIANCE", "BSE", "BSE_EQ", InstrumentType.EQUITY
)
MASTER = [REL, INFY, NIFTY, BSE_REL]


def test_symbols_keys_and_index_names_resolve_once_each() -> None:
    index = InstrumentIndex.build(MASTER)
    names = split_symbols("RELIANCE, infy,NIFTY 50,NSE_EQ|INE002A01018,BSE:RELIANCE,,")
    assert names == ["RELIANCE", "infy", "NIFTY 50", "NSE_EQ|INE002A01018", "BSE:RELIANCE"]
    assert resolve_symbols(names, index) == [REL, INFY, NIFTY, BSE_REL]
    with pytest.raises(UnknownSymbols, match="'FOO', 'NSE_EQ\\|BAD'") as e:
        resolve_symbols(["RELIANCE", "FOO", "NSE_EQ|BAD"], index)
    assert e.value.symbols == ("FOO", "NSE_EQ|BAD")


def test_universe_files_and_names(tmp_path: Path) -> None:
    f = tmp_path / "watch.txt"
    f.write_text("# my list\nRELIANCE\n\nINFY  # the second\nNIFTY 50\n")
    assert universe_entries(str(f), MASTER) == ["RELIANCE", "INFY", "NIFTY 50"]
    assert universe_entries("nse_eq", MASTER) == [REL.instrument_key, INFY.instrument_key]
    assert universe_entries("NIFTY50", MASTER) == list(NIFTY50) and len(NIFTY50) == 50
    with pytest.raises(ValueError, match="no such file, and not a named universe"):
        universe_entries("NIFTY 50", MASTER)  # the index is a symbol, not a universe
