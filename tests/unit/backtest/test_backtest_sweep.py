"""Parameter sweeps: grid parsing, ranking, the local process pool and Dask give the same rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from backtest_kit import DAY, INSTRUMENTS, RELIANCE, candles_from_closes, store_with_candles

from quant.backtest.config import BacktestConfig
from quant.backtest.sources import StoreLocation
from quant.backtest.sweep import (
    GridError,
    Job,
    SweepRow,
    combinations,
    parse_grid,
    rank,
    run_dask,
    run_local,
)

KIT = Path(__file__).with_name("backtest_kit.py")
CLOSES = (
    [100_000] * 10
    + [100_000 + 500 * i for i in range(1, 20)]
    + [109_500 - 700 * i for i in range(1, 30)]
    + [89_200 + 300 * i for i in range(1, 40)]
)


def test_grid_values_are_yaml_scalars_and_combine_in_order() -> None:
    axes = parse_grid(["fast=2,3", "slow=5,8", "mode=fast"])
    assert axes == {"fast": [2, 3], "slow": [5, 8], "mode": ["fast"]}
    combos = combinations({"quantity": 10}, axes)
    assert [(c["fast"], c["slow"]) for c in combos] == [(2, 5), (2, 8), (3, 5), (3, 8)]
    assert all(c["quantity"] == 10 for c in combos)
    assert parse_grid(["x=0.5,true"]) == {"x": [0.5, True]}
    for bad in (["fast"], ["=1,2"], ["fast="], ["a=1", "a=2"]):
        with pytest.raises(GridError):
            parse_grid(bad)


def test_rank_best_first_failures_last() -> None:
    rows = [
        SweepRow(0, {}, net_pnl=5),
        SweepRow(1, {}, error="boom"),
        SweepRow(2, {}, net_pnl=9),
        SweepRow(3, {}, net_pnl=9),
    ]
    assert [r.number for r in rank(rows)] == [2, 3, 0, 1]
    assert [r.number for r in rank(rows, "charges")][:1] == [0]
    with pytest.raises(GridError, match="rank-by"):
        rank(rows, "luck")


def _jobs(tmp_path: Path) -> list[Job]:
    store_with_candles(tmp_path, candles_from_closes(RELIANCE, DAY, CLOSES)).close()
    where = StoreLocation(kind="sqlite", path=tmp_path / "ticks.sqlite")
    axes = parse_grid(["fast=2,3", "slow=5,8"])
    base = {"bar_minutes": 1, "quantity": 10}
    return [
        Job(i, f"{KIT}:MaCross", p, BacktestConfig(), DAY, DAY, INSTRUMENTS, where)
        for i, p in enumerate(combinations(base, axes))
    ]


def test_local_pool_and_dask_local_cluster_give_the_same_rows(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    jobs = _jobs(tmp_path)
    serial = run_local(jobs, 1)
    pooled = run_local(jobs, 2)
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        dasked = run_dask(jobs, client)
    assert not any(r.error for r in serial), serial
    assert all(r.trades >= 1 for r in serial)
    assert len({r.net_pnl for r in serial}) > 1  # the parameters matter
    assert pooled == serial
    assert dasked == serial
    assert rank(dasked) == rank(serial)


def test_a_failing_combination_is_reported_in_its_row(tmp_path: Path) -> None:
    job = _jobs(tmp_path)[0]
    bad = job._replace(params={**job.params, "fast": 9, "slow": 5})  # fast >= slow
    (row,) = run_local([bad], 1)
    assert "fast (9) must be below slow (5)" in row.error
