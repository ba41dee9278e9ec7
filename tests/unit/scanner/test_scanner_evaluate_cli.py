"""``quant scanner evaluate`` argument handling, the stores it reads and its exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from scanner_history_kit import INDEX, KEYS, SYMBOLS, build_store

from quant.core.instruments import Instrument, InstrumentType
from quant.scanner.evaluate_cli import (
    EvaluateSettings,
    add_evaluate_arguments,
    main_evaluate,
    resolve_universe,
)
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.upstox.settings import UpstoxSettings
from quant.users.settings import RELATIONAL_FILE

MASTER = [
    Instrument(key, sym, sym, "NSE", "NSE_EQ", InstrumentType.EQUITY)
    for key, sym in zip(KEYS, SYMBOLS, strict=True)
] + [Instrument(INDEX, "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX)]
ARGS = ["--from", "2026-12-07", "--to", "2026-12-07", "--first-at", "09:35", "--until", "09:35"]
SMALL = ["--top", "1", "--history-days", "3", "--volume-days", "3", "--min-turnover", "1e6"]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_evaluate_arguments(parser)
    return parser.parse_args(argv)


def data_dir(tmp_path: Path, *, ticks: bool = True) -> EvaluateSettings:
    relational = SqliteRelationalStore(tmp_path / RELATIONAL_FILE).open()
    relational.upsert_instruments(MASTER)
    relational.close()
    if ticks:
        build_store(str(tmp_path / "ticks.sqlite")).close()
    return EvaluateSettings(data_dir=tmp_path)


def test_it_reads_the_embedded_stores_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = data_dir(tmp_path)
    out = tmp_path / "report.json"
    assert main_evaluate(parse([*ARGS, *SMALL, "--json", str(out)]), settings) == 0
    printed = capsys.readouterr().out
    assert "1 session(s), 1 cycles, 15 names, 1 picks" in printed
    report = json.loads(out.read_text())
    assert report["picks"][0]["trading_symbol"] == "BRK"


def test_an_empty_range_exits_1_saying_what_to_backfill(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = data_dir(tmp_path)
    argv = ["--from", "2026-11-02", "--to", "2026-11-06", *SMALL]
    assert main_evaluate(parse(argv), settings) == 1
    err = capsys.readouterr().err  # 3 sessions of minutes before the range, 8 days back
    assert (
        "quant backfill --universe NSE_EQ --from 2026-10-25 --to 2026-11-06 --interval 1minute"
        in err
    )


def test_a_missing_store_exits_1_and_a_bad_universe_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = data_dir(tmp_path, ticks=False)
    assert main_evaluate(parse(ARGS), settings) == 1
    assert "run `quant backfill` first" in capsys.readouterr().err
    build_store(str(tmp_path / "ticks.sqlite")).close()
    assert main_evaluate(parse([*ARGS, "--universe", "BRK,NOPE"]), settings) == 2
    assert "NOPE" in capsys.readouterr().err


def test_the_universe_is_nse_equities_or_named_symbols() -> None:
    names, explicit = resolve_universe(MASTER, ["NSE_EQ"])
    assert [u.trading_symbol for u in names] == SYMBOLS and not explicit
    names, explicit = resolve_universe(MASTER, ["BRK", "FALL"])
    assert [u.instrument_key for u in names] == KEYS[10:12] == sorted(explicit)
    with pytest.raises(ValueError, match="NIFTY"):
        resolve_universe(MASTER, ["NIFTY"])


def test_bad_arguments_are_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        parse(["--from", "2026-13-01", "--to", "2026-12-07"])
    with pytest.raises(SystemExit):
        parse([*ARGS, "--horizons", "15,x"])


def test_a_master_that_cannot_be_downloaded_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_store(str(tmp_path / "ticks.sqlite")).close()  # no relational store: download
    settings = EvaluateSettings(
        data_dir=tmp_path, upstox=UpstoxSettings(assets_base="http://127.0.0.1:9")
    )
    assert main_evaluate(parse(ARGS), settings) == 1
    assert "download failed" in capsys.readouterr().err
