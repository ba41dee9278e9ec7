"""Parameter sweeps: one backtest per combination of a grid, on local processes or Dask.

``parse_grid(["fast=5,10,20", "slow=50,100"])`` gives the axes (values read as YAML
scalars: ``5`` is an int, ``0.5`` a float, ``true`` a bool, anything else a string);
``combinations`` their product, in the order given (the last axis varies fastest).
Each combination is a ``Job``: the strategy spec, its parameters, the run's config, the
dates, the resolved instruments and where the tick store is, all picklable, so that
``run_job`` can run in any process: ``run_local`` maps the jobs over a
``ProcessPoolExecutor``; ``run_dask`` over a Dask cluster (``distributed.Client.map``, to
a scheduler address or a given client such as a ``LocalCluster``'s). Both return the
rows in job order, so the same jobs give the same rows either way; ``rank`` sorts them
by a metric, best first (ties by job order).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import Any, NamedTuple

import yaml

from quant.analytics.performance import compute_performance
from quant.backtest.config import BacktestConfig
from quant.backtest.replay import Backtest, NoData
from quant.backtest.sources import StoreLocation
from quant.core.instruments import Instrument

#: metrics a sweep can rank by, and whether lower is better
METRICS: dict[str, bool] = {
    "net_pnl": False,
    "return_pct": False,
    "sharpe": False,
    "sortino": False,
    "max_drawdown_pct": True,
    "win_rate": False,
    "profit_factor": False,
    "trades": False,
    "charges": True,
}


class GridError(ValueError):
    """A ``--grid`` option that cannot be read."""


class Job(NamedTuple):
    """One backtest of a sweep (picklable)."""

    number: int
    spec: str
    params: dict[str, Any]
    config: BacktestConfig
    first: date
    last: date
    instruments: dict[str, Instrument]
    store: StoreLocation


class SweepRow(NamedTuple):
    """The figures of one combination (money in paise; ``error`` when it failed)."""

    number: int
    params: dict[str, Any]
    net_pnl: int = 0
    return_pct: float = 0.0
    sharpe: float | None = None
    sortino: float | None = None
    max_drawdown_pct: float = 0.0
    win_rate: float | None = None
    profit_factor: float | None = None
    trades: int = 0
    charges: int = 0
    risk_rejections: int = 0
    error: str = ""


def _scalar(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, int | float | bool | str) else text


def parse_grid(options: Sequence[str]) -> dict[str, list[Any]]:
    """``NAME=V1,V2,...`` options -> axes; ``GridError`` for a malformed or repeated one."""
    axes: dict[str, list[Any]] = {}
    for option in options:
        name, sep, values = option.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise GridError(f"--grid {option!r}: expected NAME=V1,V2,... (e.g. fast=5,10,20)")
        if name in axes:
            raise GridError(f"--grid {name} is given twice")
        axes[name] = [_scalar(v.strip()) for v in values.split(",") if v.strip()]
    return axes


def combinations(base: dict[str, Any], axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """``base`` parameters overridden by each combination of ``axes``."""
    names = list(axes)
    return [
        {**base, **dict(zip(names, values, strict=True))}
        for values in itertools.product(*(axes[n] for n in names))
    ]


def run_job(job: Job) -> SweepRow:
    """Run one job (in whatever process) and summarise it."""
    import logging

    from quant.strategy.loader import load_strategy

    logging.getLogger("quant.execution").setLevel(logging.ERROR)  # per-day square-off notes
    try:
        loaded = load_strategy(job.spec, job.params)
        store = job.store.open()
        try:
            bt = Backtest(loaded.cls(), loaded.params, job.instruments, job.config)
            result = asyncio.run(bt.run(store, job.first, job.last))  # type: ignore[arg-type]
        finally:
            store.close()  # type: ignore[attr-defined]
    except NoData as e:
        return SweepRow(job.number, job.params, error=f"no data: {e}")
    except Exception as e:  # one combination's failure is reported in its row
        return SweepRow(job.number, job.params, error=f"{type(e).__name__}: {e}")
    if result.failures:
        f = result.failures[0]
        return SweepRow(job.number, job.params, error=f"strategy failed in {f.callback}: {f.error}")
    p = compute_performance(
        result.equity,
        result.trades,
        initial_capital=result.initial_capital,
        risk_rejections=result.risk_rejections,
    )
    return SweepRow(
        job.number,
        job.params,
        net_pnl=p.net_pnl,
        return_pct=p.return_pct,
        sharpe=p.sharpe,
        sortino=p.sortino,
        max_drawdown_pct=p.max_drawdown_pct,
        win_rate=p.win_rate,
        profit_factor=p.profit_factor,
        trades=p.trades,
        charges=p.charges,
        risk_rejections=p.risk_rejections,
    )


def run_local(jobs: Sequence[Job], workers: int) -> list[SweepRow]:
    """The jobs on ``workers`` processes (in this process when ``workers`` is 1)."""
    if workers <= 1 or len(jobs) <= 1:
        return [run_job(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        return list(pool.map(run_job, jobs))


def run_dask(jobs: Sequence[Job], scheduler: Any) -> list[SweepRow]:
    """The jobs on a Dask cluster: ``scheduler`` is its address (``tcp://HOST:8786``) or a
    ``distributed.Client``."""
    from distributed import Client

    if isinstance(scheduler, Client):
        futures = scheduler.map(run_job, list(jobs), pure=False)
        return list(scheduler.gather(futures))  # type: ignore[no-untyped-call]
    with Client(scheduler) as client:  # type: ignore[no-untyped-call]
        futures = client.map(run_job, list(jobs), pure=False)
        return list(client.gather(futures))


def rank(rows: Iterable[SweepRow], by: str = "net_pnl") -> list[SweepRow]:
    """Best first by ``by`` (``METRICS``); failed runs and undefined values last."""
    if by not in METRICS:
        raise GridError(f"--rank-by {by!r}: one of {', '.join(METRICS)}")
    lower_better = METRICS[by]

    def key(row: SweepRow) -> tuple[int, float, int]:
        value = getattr(row, by)
        if row.error or value is None:
            return (1, 0.0, row.number)
        v = float(value)
        return (0, v if lower_better else -v, row.number)

    return sorted(rows, key=key)
