"""``quant ingestor``: hold the Upstox feed and publish ticks and greeks to Kafka."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    from quant.runtime.command import add_metrics_port_argument

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ingestor",
        help="Upstox market-data feed -> Kafka market.equity.ticks / market.option.greeks",
    )
    add_metrics_port_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from quant.ingestor.main import build
    from quant.ingestor.settings import IngestorSettings
    from quant.runtime.command import run_command, with_metrics_port
    from quant.runtime.deps import open_data_service_deps

    settings = with_metrics_port(IngestorSettings(), args)
    return run_command(
        settings,
        lambda: open_data_service_deps(settings, token=True),
        lambda deps: [build(settings, deps)],
    )
