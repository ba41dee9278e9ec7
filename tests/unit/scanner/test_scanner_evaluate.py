"""The evaluate replay: the breakout name is picked and its forward returns are exact."""

from __future__ import annotations

import json
import math
from datetime import date, time
from pathlib import Path

import pytest
from scanner_history_kit import BRK, DAY, FALL, ILLIQ, KEYS, SYMBOLS, at, build_store, today_close

from quant.core.calendar import NSE_CALENDAR
from quant.scanner.evaluate import (
    EvaluateConfig,
    NoStoredCandles,
    UniverseName,
    format_report,
    run_evaluate,
    write_csv,
    write_json,
)
from quant.scanner.settings import ScannerSettings
from quant.store.sqlite_ticks import SqliteTickStore

UNIVERSE = [UniverseName(k, s) for k, s in zip(KEYS, SYMBOLS, strict=True)]
SCANNER = ScannerSettings(
    first_at=time(9, 35),
    top_n=1,
    history_days=3,
    volume_days=3,
    high_days=3,
    contraction_short=1,
    contraction_long=3,
    min_price=20.0,
    min_turnover=1e6,
)
ONE_CYCLE = EvaluateConfig(scanner=SCANNER, until=time(9, 35))  # one cycle a day: 09:35
LIQUID = 13  # 10 flat names, BRK, FALL and AGG (ILLIQ trades too little, GHOST never)


def ret(key: str, minutes: int) -> float:
    """Percent return from the close of minute 19 (the last bar before 09:35)."""
    return (today_close(key, 19 + minutes) / today_close(key, 19) - 1) * 100


def test_the_breakout_is_picked_and_its_forward_returns_are_exact() -> None:
    report = run_evaluate(
        build_store(), UNIVERSE, DAY, DAY, config=ONE_CYCLE, calendar=NSE_CALENDAR
    )
    assert report.days == (DAY,) and report.cycles == 1
    (pick,) = report.picks
    assert (pick.instrument_key, pick.trading_symbol, pick.rank) == (BRK, "BRK", 1)
    assert pick.ts_event == at(DAY, 9, 35)
    assert pick.last == pytest.approx(101.0)
    # 101 -> 104 (15 min), 107 (30), 113 (60)
    assert pick.returns == pytest.approx((300 / 101, 600 / 101, 1200 / 101))
    universe = [(ret(BRK, h) + ret(FALL, h)) / LIQUID for h in (15, 30, 60)]
    assert pick.universe == pytest.approx(universe)
    for s, h, u in zip(report.horizons, (15, 30, 60), universe, strict=True):
        assert s.minutes == h and s.picks == 1
        assert s.mean == pytest.approx(ret(BRK, h)) and s.median == pytest.approx(ret(BRK, h))
        assert s.hit_rate == 1.0 and s.beat_rate == 1.0
        assert s.universe_count == LIQUID
        assert s.universe_mean == pytest.approx(u)
        assert s.universe_median == 0.0
        assert s.universe_hit_rate == pytest.approx(1 / LIQUID)
        assert s.excess == pytest.approx(ret(BRK, h) - u)


def test_a_horizon_past_the_close_is_not_counted() -> None:
    scanner = SCANNER.model_copy(update={"first_at": time(14, 45), "interval_seconds": 3600})
    config = EvaluateConfig(scanner=scanner)
    report = run_evaluate(build_store(), UNIVERSE, DAY, DAY, config=config, calendar=NSE_CALENDAR)
    (pick,) = report.picks  # 14:45 only: 15:45 is past the close
    assert pick.instrument_key == BRK
    assert not math.isnan(pick.returns[1]) and math.isnan(pick.returns[2])  # 15:15 / 15:45
    assert [s.picks for s in report.horizons] == [1, 1, 0]
    assert "-" in format_report(report).splitlines()[-3]  # the 60-min row has no figures


def test_the_report_prints_and_saves(tmp_path: Path) -> None:
    report = run_evaluate(
        build_store(), UNIVERSE, DAY, DAY, config=ONE_CYCLE, calendar=NSE_CALENDAR
    )
    text = format_report(report)
    assert "1 session(s), 1 cycles" in text and "15 min" in text and "+2.970" in text
    write_csv(report, tmp_path / "picks.csv", ONE_CYCLE.horizons)
    rows = (tmp_path / "picks.csv").read_text().splitlines()
    assert rows[0].startswith("ts,rank,instrument_key,trading_symbol,score,last,ret_15m")
    assert rows[1].startswith("2026-12-07T09:35+05:30,1,NSE_EQ|BRK,BRK,")
    write_json(report, tmp_path / "report.json")
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["horizons"][0]["picks"] == 1
    assert data["picks"][0]["returns"][0] == pytest.approx(300 / 101)


def test_a_range_without_stored_candles_says_how_to_backfill() -> None:
    empty = SqliteTickStore().open()
    with pytest.raises(NoStoredCandles, match="quant backfill") as err:
        run_evaluate(empty, UNIVERSE, DAY, DAY, config=ONE_CYCLE, calendar=NSE_CALENDAR)
    assert "2026-12-07" in str(err.value) and "--interval day" in str(err.value)


def test_history_without_the_evaluated_days_is_no_data_either() -> None:
    store = build_store(with_today=False)
    with pytest.raises(NoStoredCandles):
        run_evaluate(
            store, UNIVERSE, DAY, date(2026, 12, 8), config=ONE_CYCLE, calendar=NSE_CALENDAR
        )


def test_bad_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="after"):
        run_evaluate(build_store(), UNIVERSE, DAY, date(2026, 12, 1), calendar=NSE_CALENDAR)
    with pytest.raises(ValueError, match="empty"):
        run_evaluate(build_store(), [], DAY, DAY, calendar=NSE_CALENDAR)


def test_without_the_liquidity_filter_the_illiquid_runner_wins() -> None:
    config = EvaluateConfig(
        scanner=SCANNER.model_copy(update={"min_turnover": 0.0}), until=time(9, 35)
    )
    report = run_evaluate(build_store(), UNIVERSE, DAY, DAY, config=config, calendar=NSE_CALENDAR)
    assert [p.trading_symbol for p in report.picks] == ["ILLIQ"]
    assert report.horizons[0].universe_count == LIQUID + 1


def test_a_name_listed_explicitly_is_scanned_whatever_its_liquidity() -> None:
    report = run_evaluate(
        build_store(), UNIVERSE, DAY, DAY, config=ONE_CYCLE, explicit=frozenset({ILLIQ})
    )
    assert [p.trading_symbol for p in report.picks] == ["ILLIQ"]
    assert report.picks[0].reasons  # the live cycle's reasons come along
