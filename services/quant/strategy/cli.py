"""``quant strategy run SPEC [SPEC ...] [--config FILE]``: run strategies over the bus.

Loads and checks every strategy first (:mod:`quant.strategy.config`): a bad spec, config
or parameter set is printed (pydantic's message for parameters) and the command exits 2
before connecting to anything. Then the ``strategy`` service runs
(:mod:`quant.strategy.service`) until SIGINT/SIGTERM; ``/healthz`` ``/readyz``
``/metrics`` on ``--metrics-port`` (default 9105).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_CONFIG = 2


def add_parser(subparsers: Any) -> None:
    from quant.runtime.command import add_metrics_port_argument

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "strategy", help="run strategies: market data in, orders.intents out (paper or live)"
    )
    sub = parser.add_subparsers(dest="strategy_command", metavar="SUBCOMMAND")
    run = sub.add_parser(
        "run",
        help="run strategies as a service over the bus",
        description="Run strategies over the bus: enriched ticks, candles, scanner picks and "
        "their order events in; order intents and cancels out on orders.intents to the "
        "execution service.",
    )
    run.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        help="a strategy class: package.module:Class or path/file.py:Class",
    )
    run.add_argument(
        "--config",
        type=Path,
        help="YAML: the parameters of the one SPEC, or a 'strategies:' list (id, class, "
        "params, algo_name, mode); with no SPEC and no --config: QUANT_STRATEGY_CONFIG",
    )
    run.add_argument("--id", dest="strategy_id", help="the strategy id of the one SPEC")
    run.add_argument("--algo-name", help="the algo name of the one SPEC's orders")
    run.add_argument("--mode", choices=["paper", "live"], help="the one SPEC's mode (paper)")
    add_metrics_port_argument(run)
    run.set_defaults(func=_run)
    parser.set_defaults(func=lambda args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_CONFIG


def _run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from quant.runtime.command import run_command, with_metrics_port
    from quant.strategy.config import load_strategies, strategy_entries
    from quant.strategy.main import build, open_strategy_deps
    from quant.strategy.settings import StrategySettings
    from quant.trading.strategy import StrategyError

    try:
        settings = with_metrics_port(StrategySettings(), args)
    except ValidationError as e:
        sys.stderr.write(f"quant strategy run: invalid settings: {e}\n")
        return EXIT_CONFIG
    config = args.config
    if config is None and not args.specs:
        config = settings.strategy_config  # QUANT_STRATEGY_CONFIG
    try:
        entries = strategy_entries(
            args.specs,
            config,
            strategy_id=args.strategy_id,
            algo_name=args.algo_name,
            mode=args.mode,
        )
        strategies = load_strategies(entries)
    except StrategyError as e:
        sys.stderr.write(f"quant strategy run: {e}\n")
        return EXIT_CONFIG
    return run_command(
        settings,
        lambda: open_strategy_deps(settings),
        lambda deps: [build(settings, deps, strategies)],
    )
