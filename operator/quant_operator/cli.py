"""``quant operator``: run the TradingDay operator (registered in ``quant.cli.COMMANDS``)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    from quant_operator.main import add_arguments

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "operator", help="run the Kubernetes operator that drives TradingDay resources"
    )
    add_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from quant_operator.main import run

    return run(namespace=args.namespace, standalone=args.standalone, liveness=args.liveness)
