"""Entry point of the operator process: ``quant operator`` or the ``quant-operator`` script.

Sets up logging from :class:`~quant_operator.settings.OperatorSettings` and runs kopf
with the handlers of :mod:`quant_operator.handlers` (which build the ports at startup),
watching one namespace or the whole cluster.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from quant.runtime.logs import setup_logging


def run(*, namespace: str | None, standalone: bool, liveness: str | None) -> int:
    import kopf

    from quant_operator import handlers  # noqa: F401 - registers the handlers with kopf
    from quant_operator.settings import OperatorSettings

    settings = OperatorSettings()
    setup_logging(settings.log_level, json_format=settings.log_json)
    ns = namespace or settings.operator.namespace
    asyncio.run(
        kopf.operator(
            standalone=standalone,
            clusterwide=ns is None,
            namespaces=[ns] if ns else (),
            liveness_endpoint=liveness,
        )
    )
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--namespace", help="watch only this namespace (default: all)")
    parser.add_argument(
        "--standalone", action="store_true", help="no peering with other operator instances"
    )
    parser.add_argument(
        "--liveness", metavar="URL", help="serve a liveness probe, e.g. http://0.0.0.0:8080/healthz"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quant-operator", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(namespace=args.namespace, standalone=args.standalone, liveness=args.liveness)


if __name__ == "__main__":
    raise SystemExit(main())
