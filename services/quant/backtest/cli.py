"""``quant backtest``: a strategy over stored history, or a parameter sweep of it.

    quant backtest ma_cross.py:MaCross --from 2026-10-01 --to 2026-11-30 \\
        --symbols RELIANCE,INFY --config params.yaml --out runs/macross
    quant backtest ma_cross.py:MaCross --from 2026-10-01 --to 2026-11-30 \\
        --symbols RELIANCE --grid fast=5,10,20 --grid slow=50,100 --workers 2
    quant backtest ... --grid fast=5,10 --dask tcp://scheduler:8786

One run replays the 1-minute candles (``--data bars``, the default) or the recorded ticks
(``--data ticks``) through the same risk checks, OMS, paper broker and charges as paper
trading (docs/strategies.md, "Backtesting"), prints the figures and writes trades.csv,
equity.csv, orders.csv and report.html under ``--out``. ``--grid`` runs every combination
(on ``--workers`` processes, or on a Dask cluster with ``--dask``) and prints them ranked
by ``--rank-by``. The tick store is QuestDB when ``QUANT_QUESTDB__HOST`` is set, else
``ticks.sqlite`` in ``QUANT_DATA_DIR``; symbols resolve through the instrument master.
Exit status: 0 done, 1 the run failed (no data, a strategy error), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from quant.backtest.replay import BacktestResult
    from quant.backtest.sweep import SweepRow


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "backtest",
        help="replay stored history through a strategy (risk, OMS, paper fills, charges)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", help="the strategy: path/to/file.py:Class or package.module:Class")
    parser.add_argument("--from", dest="start", type=_date, required=True, metavar="DATE")
    parser.add_argument("--to", dest="end", type=_date, required=True, metavar="DATE")
    parser.add_argument("--symbols", required=True, help="comma-separated, e.g. RELIANCE,INFY")
    parser.add_argument("--data", choices=("bars", "ticks"), help="what to replay (bars)")
    parser.add_argument("--config", type=Path, help="YAML: parameters, or params:/backtest:")
    parser.add_argument("--out", type=Path, help="where the report goes (backtest-out)")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2")
    parser.add_argument("--workers", type=int, default=0, metavar="N", help="sweep processes")
    parser.add_argument("--dask", metavar="ADDRESS", help="run the sweep on a Dask scheduler")
    parser.add_argument("--rank-by", default="net_pnl", help="sweep ranking metric (net_pnl)")
    parser.add_argument("--progress", action="store_true", help="progress bar even if no TTY")
    parser.set_defaults(func=_run)


def quiet_engine_log(level: str) -> None:
    """The execution engine's per-day warnings (the MIS square-off ran, ...) are noise in
    a backtest: only its errors are shown, unless the log level is DEBUG."""
    import logging

    if level != "DEBUG":
        logging.getLogger("quant.execution").setLevel(logging.ERROR)


def _fail(message: str, code: int = 1) -> int:
    print(f"quant backtest: {message}", file=sys.stderr)
    return code


def _run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from quant.backtest.config import BacktestConfig, ConfigFileError, load_config_file
    from quant.backtest.sources import (
        BacktestSettings,
        SourceError,
        StoreLocation,
        load_master,
        resolve_symbols,
    )
    from quant.backtest.sweep import GridError, parse_grid
    from quant.runtime.logs import setup_logging

    if args.end < args.start:
        return _fail(f"--to {args.end} is before --from {args.start}", 2)
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    if not symbols:
        return _fail("--symbols names no symbol", 2)
    try:
        settings = BacktestSettings()
        setup_logging("WARNING" if settings.log_level == "INFO" else settings.log_level)
        quiet_engine_log(settings.log_level)
        params, section = load_config_file(args.config) if args.config else ({}, {})
        if args.data:
            section["data"] = args.data
        config = BacktestConfig.model_validate(section)
        axes = parse_grid(args.grid)
    except (ConfigFileError, GridError) as e:
        return _fail(str(e), 2)
    except ValidationError as e:
        return _fail(f"bad backtest settings:\n{e}", 2)
    try:
        master, _ = load_master(settings)
        instruments = resolve_symbols(symbols, master)
    except SourceError as e:
        return _fail(str(e))
    location = StoreLocation.of(settings)
    if axes:
        return _sweep(args, params, axes, config, instruments, location)
    return _single(args, params, config, instruments, location, symbols)


def _backfill_hint(args: argparse.Namespace, symbols: list[str]) -> str:
    return (
        f"quant backfill --symbols {','.join(symbols)} --from {args.start} --to {args.end} "
        "--interval 1minute"
    )


def _single(
    args: argparse.Namespace,
    params: dict[str, Any],
    config: Any,
    instruments: dict[str, Any],
    location: Any,
    symbols: list[str],
) -> int:
    import asyncio

    from quant.backtest.replay import Backtest, NoData
    from quant.backtest.report import write_report
    from quant.backtest.sources import SourceError
    from quant.strategy.loader import load_strategy
    from quant.trading.strategy import StrategyError

    try:
        loaded = load_strategy(args.spec, params)
    except StrategyError as e:
        return _fail(str(e), 2)
    try:
        store = location.open()
    except SourceError as e:
        return _fail(str(e))
    show = args.progress or sys.stderr.isatty()
    bar = _ProgressBar(sys.stderr) if show else None
    try:
        bt = Backtest(
            loaded.cls(),
            loaded.params,
            instruments,
            config,
            keep_bars=8,
            progress=bar.update if bar else None,
        )
        result = asyncio.run(bt.run(store, args.start, args.end))
    except NoData:
        what = "1-minute candles (ohlc)" if config.data == "bars" else "recorded ticks"
        hint = (
            f"backfill them first: {_backfill_hint(args, symbols)}"
            if config.data == "bars"
            else "ticks are recorded by the feature service (`quant up` or `quant features`); "
            "or replay candles with --data bars"
        )
        return _fail(
            f"no {what} for {', '.join(symbols)} between {args.start} and {args.end} in "
            f"{location.describe()}; {hint}"
        )
    finally:
        if bar:
            bar.done()
        store.close()
    out = args.out or Path("backtest-out")
    files = write_report(
        out,
        equity=result.equity,
        trades=result.trades,
        bars=result.bars,
        initial_capital=result.initial_capital,
        risk_rejections=result.risk_rejections,
        title=f"Backtest: {args.spec}",
        details=[
            ("Symbols", ", ".join(symbols)),
            ("From", args.start.isoformat()),
            ("To", args.end.isoformat()),
            ("Data", config.data),
        ],
    )
    (out / "orders.csv").write_text(orders_csv(result), encoding="utf-8", newline="")
    print(summary(result))
    print(f"report: {files.html}\ntrades: {files.trades_csv}\nequity: {files.equity_csv}")
    for f in result.failures:
        print(f"strategy {f.strategy_id} failed in {f.callback}: {f.error}", file=sys.stderr)
    return 1 if result.failures else 0


def _sweep(
    args: argparse.Namespace,
    params: dict[str, Any],
    axes: dict[str, list[Any]],
    config: Any,
    instruments: dict[str, Any],
    location: Any,
) -> int:
    import os

    from quant.backtest.sweep import GridError, Job, combinations, rank, run_dask, run_local

    combos = combinations(params, axes)
    jobs = [
        Job(i, args.spec, p, config, args.start, args.end, instruments, location)
        for i, p in enumerate(combos)
    ]
    print(f"sweep: {len(jobs)} combinations", file=sys.stderr)
    if args.dask:
        try:
            rows = run_dask(jobs, args.dask)
        except (OSError, TimeoutError) as e:
            return _fail(f"cannot run the sweep on the Dask scheduler at {args.dask}: {e}")
    else:
        rows = run_local(jobs, args.workers or os.cpu_count() or 1)
    try:
        ranked = rank(rows, args.rank_by)
    except GridError as e:
        return _fail(str(e), 2)
    print(sweep_table(ranked, list(axes)))
    return 0 if any(not r.error for r in rows) else 1


# --- output -------------------------------------------------------------------------------


def _rupees(paise: int) -> str:
    from quant.core.money import paise_to_str

    return paise_to_str(paise)


def summary(result: BacktestResult) -> str:
    """The run's headline figures, one per line."""
    from quant.analytics.performance import compute_performance

    p = compute_performance(
        result.equity,
        result.trades,
        initial_capital=result.initial_capital,
        risk_rejections=result.risk_rejections,
    )

    def ratio(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    rejected = ", ".join(f"{k} {v}" for k, v in result.rejections.items()) or "none"
    return "\n".join(
        [
            f"days {result.days}, events {result.events}, intents {result.intents}, "
            f"fills {len(result.fills)}",
            f"net P&L {_rupees(p.net_pnl)} ({p.return_pct:+.2f}%), charges {_rupees(p.charges)}",
            f"trades {p.trades}, win rate "
            f"{'n/a' if p.win_rate is None else f'{100 * p.win_rate:.1f}%'}, "
            f"Sharpe {ratio(p.sharpe)}, max drawdown {p.max_drawdown_pct:.2f}%",
            f"rejected orders: {rejected} (risk: {result.risk_rejections})",
        ]
    )


def orders_csv(result: BacktestResult) -> str:
    """Every journaled order state change, in order."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ("ts", "client_order_id", "instrument_key", "side", "type", "quantity", "status",
         "filled_quantity", "filled_value", "price", "trigger_price", "reason", "message")
    )  # fmt: skip
    for e in result.order_events:
        w.writerow(
            (e.ts_event, e.client_order_id, e.instrument_key, e.side.name, e.order_type.name,
             e.quantity, e.status.name, e.filled_quantity, e.filled_value, e.price,
             e.trigger_price, e.reason, e.message)
        )  # fmt: skip
    return buf.getvalue()


def sweep_table(rows: list[SweepRow], names: list[str]) -> str:
    """The ranked rows as a fixed-width table."""
    head = ["#", *names, "net P&L", "return %", "Sharpe", "max DD %", "trades", "charges"]
    lines: list[list[str]] = []
    for i, r in enumerate(rows, 1):
        values = [str(r.params.get(n, "")) for n in names]
        if r.error:
            lines.append([str(i), *values, f"failed: {r.error}"])
            continue
        sharpe = "n/a" if r.sharpe is None else f"{r.sharpe:.2f}"
        lines.append(
            [str(i), *values, _rupees(r.net_pnl), f"{r.return_pct:+.2f}", sharpe,
             f"{r.max_drawdown_pct:.2f}", str(r.trades), _rupees(r.charges)]
        )  # fmt: skip
    widths = [max(len(h), *(len(x[c]) for x in lines if c < len(x))) for c, h in enumerate(head)]
    out = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    out += ["  ".join(v.rjust(w) for v, w in zip(x, widths, strict=False)) for x in lines]
    return "\n".join(out)


class _ProgressBar:
    """Days done, events replayed, on one stderr line."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self._stream = stream
        self._width = width

    def update(self, done: int, total: int, events: int) -> None:
        filled = self._width * done // max(total, 1)
        bar = "#" * filled + "-" * (self._width - filled)
        self._stream.write(f"\r[{bar}] day {done}/{total}, {events:,} events")
        self._stream.flush()

    def done(self) -> None:
        self._stream.write("\n")
        self._stream.flush()
