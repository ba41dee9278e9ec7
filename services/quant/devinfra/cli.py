"""``quant dev infra up|down|status``: argument parsing; the work is in ``quant.devinfra.infra``."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dev", help="developer tools: local Kafka, QuestDB and PostgreSQL"
    )
    sub = parser.add_subparsers(dest="dev_command", metavar="TOOL")
    infra = sub.add_parser("infra", help="start, stop or report the local servers")
    infra.add_argument("action", choices=["up", "down", "status"])
    infra.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from quant.devinfra.infra import run  # the servers' modules load only for this command

    return run(args.action)
