"""``quant <command>``: one subcommand per service or tool.

Each entry of :data:`COMMANDS` names a module with ``add_parser(subparsers)``; the
module registers its own arguments and a ``func`` default that runs it. Modules keep
heavy imports inside their run functions so that ``quant --help`` stays fast. Only
commands that work are listed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command name -> module providing add_parser(subparsers)
COMMANDS: dict[str, str] = {
    "dev": "quant.devinfra.cli",
    "auth": "quant.auth.cli",
    "sim": "quant.sim.cli",
    "operator": "quant_operator.cli",
    "sync-instruments": "quant.sync.cli",
    "backfill": "quant.backfill.cli",
    "up": "quant.up.cli",
    "ingestor": "quant.ingestor.cli",
    "features": "quant.features.cli",
    "gateway": "quant.gateway.cli",
    "execution": "quant.execution.cli",
    "strategy": "quant.strategy.cli",
    "scanner": "quant.scanner.cli",
    "users": "quant.users.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quant", description="quant-platform: algorithmic trading for NSE/BSE on Upstox V3"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        module = importlib.import_module(module_name)
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    result = func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
