"""``quant execution``: the execution service (intents in; orders to the paper or Upstox
broker; order events, the audit journal and its HTTP API out). See
:mod:`quant.execution.service`."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    from quant.runtime.command import add_metrics_port_argument

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "execution",
        help="orders.intents -> risk checks -> paper or Upstox broker; orders API on :8081",
    )
    parser.add_argument(
        "--mode",
        choices=["paper", "live"],
        help="paper (default; QUANT_MODE) or live: real orders to Upstox at "
        "QUANT_UPSTOX__API_BASE with the token of `quant auth login`",
    )
    parser.add_argument("--api-host", help="API bind address (default QUANT_API_HOST, 0.0.0.0)")
    parser.add_argument("--api-port", type=int, help="API port (default QUANT_API_PORT, 8081)")
    add_metrics_port_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from quant.execution.main import build, open_execution_deps
    from quant.execution.settings import ExecutionSettings
    from quant.runtime.command import run_command, with_metrics_port

    settings = with_metrics_port(ExecutionSettings(), args)
    overrides = {
        name: value
        for name, value in (
            ("mode", args.mode),
            ("api_host", args.api_host),
            ("api_port", args.api_port),
        )
        if value is not None
    }
    if overrides:
        settings = settings.model_copy(update=overrides)  # argparse checked them
    return run_command(
        settings,
        lambda: open_execution_deps(settings),
        lambda deps: [build(settings, deps)],
    )
