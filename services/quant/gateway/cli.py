"""``quant gateway``: the REST gateway as a standalone service (the Helm chart's gateway pod).

The read model is fed from Kafka, instruments are looked up in PostgreSQL; see
:mod:`quant.gateway.main`.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "gateway", help="REST gateway: read model fed from Kafka, instruments from PostgreSQL"
    )
    parser.add_argument("--host", help="bind address (default QUANT_GATEWAY__HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default QUANT_GATEWAY__PORT, 8080)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from quant.gateway.main import build
    from quant.gateway.service_settings import GatewayServiceSettings
    from quant.runtime.command import run_command
    from quant.runtime.deps import open_deps

    settings = GatewayServiceSettings()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(
            update={"gateway": settings.gateway.model_copy(update=overrides)}
        )
    return run_command(
        settings,
        lambda: open_deps(kafka=settings.kafka, postgres=settings.postgres),
        lambda deps: [build(settings, deps)],
    )
