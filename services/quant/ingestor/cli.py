"""``quant ingestor``: hold the Upstox feed and publish ticks and greeks to Kafka."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ingestor",
        help="Upstox market-data feed -> Kafka market.equity.ticks / market.option.greeks",
    )
    parser.add_argument("--metrics-port", type=int, help="/healthz /readyz /metrics port (0 = off)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from quant.ingestor.main import build
    from quant.ingestor.settings import IngestorSettings
    from quant.runtime.command import run_command
    from quant.runtime.deps import open_deps

    settings = IngestorSettings()
    if args.metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": args.metrics_port})
    return run_command(
        settings,
        lambda: open_deps(
            kafka=settings.kafka,
            postgres=settings.postgres,
            upstox=settings.upstox,
            instrument_files=settings.instrument_files,
            token=True,
        ),
        lambda deps: [build(settings, deps)],
    )
