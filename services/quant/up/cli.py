"""``quant up [--source sim|upstox] [--broker paper|upstox] [--port PORT]``: the whole
platform in one process.

Builds :class:`~quant.up.settings.UpSettings` (``--source`` overrides ``QUANT_SOURCE``,
``--broker`` ``QUANT_BROKER``, ``--port`` ``QUANT_GATEWAY__PORT``), sets up logging and
runs :func:`quant.up.platform.run_platform`, printing the URL, how to log in as the
``admin`` it created (the login page, and the file with the initial password), the market
source, the broker and the data directory once the gateway serves. SIGINT/SIGTERM stop every
component in order. When the market cannot be used (``--source upstox`` without a valid
token) or the broker not with it (``--broker upstox`` is for the simulator only) it says
why on stderr and exits 1 before starting anything.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.up.market import Market


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "up",
        help="run the whole platform in one process (market, services, REST API)",
    )
    parser.add_argument(
        "--source",
        choices=["sim", "upstox"],
        help="market data: the embedded simulator (default; QUANT_SOURCE) or your Upstox "
        "account at QUANT_UPSTOX__API_BASE, with the token of `quant auth login`",
    )
    parser.add_argument(
        "--broker",
        choices=["paper", "upstox"],
        help="where orders go: the paper broker, filled against the market's ticks (default; "
        "QUANT_BROKER), or the live Upstox adapter sending them to the simulator",
    )
    parser.add_argument(
        "--no-strategy",
        action="store_true",
        help="do not run the example strategy (a moving-average cross on RELIANCE, paper "
        "orders; QUANT_STRATEGY=false)",
    )
    parser.add_argument("--port", type=int, help="gateway port (default 8080)")
    parser.add_argument("--host", help="gateway bind address (default 127.0.0.1)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from quant.runtime.logs import setup_logging
    from quant.up.market import MarketUnavailable
    from quant.up.platform import BrokerUnavailable, run_platform
    from quant.up.settings import UpSettings
    from quant.users.settings import ADMIN_KEY_FILE, ADMIN_PASSWORD_FILE

    settings = UpSettings()
    overrides: dict[str, Any] = {}
    if args.port is not None:
        overrides["port"] = args.port
    if args.host is not None:
        overrides["host"] = args.host
    if overrides:
        settings = settings.model_copy(
            update={"gateway": settings.gateway.model_copy(update=overrides)}
        )
    if args.source is not None:
        settings = settings.model_copy(update={"source": args.source})
    if args.broker is not None:
        settings = settings.model_copy(update={"broker": args.broker})
    if args.no_strategy:
        settings = settings.model_copy(update={"strategy": False})
    setup_logging(settings.log_level, json_format=settings.log_format == "json")
    for noisy in ("httpx", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def announce(url: str, market: Market) -> None:
        sys.stdout.write(
            f"quant-platform is up: {url}\n"
            f"  login:  {url}/login   as admin, password in "
            f"{settings.data_dir / ADMIN_PASSWORD_FILE} "
            "(`quant users passwd admin` sets a new one)\n"
            f"  source: {market.description}\n"
            f"  broker: {broker_line(settings.broker)}\n"
            f"  strategy: {strategy_line(settings.strategy)}\n"
            f"  data:   {settings.data_dir}   (QUANT_DATA_DIR)\n"
            f"  quote:  {url}/api/v1/market/quote/RELIANCE\n"
            f"  greeks: {url}/api/v1/market/greeks/NIFTY%2050\n"
            f"  key:    {settings.data_dir / ADMIN_KEY_FILE}   "
            "(send it as 'Authorization: Bearer <key>')\n"
            f"  orders: {url}/api/v1/orders   trades: {url}/api/v1/trades\n"
            f"  book:   {url}/api/v1/positions   pnl: {url}/api/v1/pnl   "
            f"kill switch: POST {url}/api/v1/killswitch\n"
            f"  docs:   {url}/docs   (Ctrl-C to stop)\n"
        )
        sys.stdout.flush()

    async def main() -> None:
        await run_platform(settings, asyncio.Event(), announce)

    try:
        asyncio.run(main())
    except MarketUnavailable as e:
        sys.stderr.write(f"quant up --source {settings.source}: {e}\n")
        sys.stderr.flush()
        return 1
    except BrokerUnavailable as e:
        sys.stderr.write(f"quant up --broker {settings.broker}: {e}\n")
        sys.stderr.flush()
        return 1
    return 0


def strategy_line(enabled: bool) -> str:
    """The banner's description of the example strategy."""
    if not enabled:
        return "none (QUANT_STRATEGY=false / --no-strategy)"
    return "macross (moving-average cross on RELIANCE 1-minute bars; --no-strategy: off)"


def broker_line(broker: str) -> str:
    """The banner's description of where orders go."""
    if broker == "upstox":
        return "upstox (live Upstox adapter -> the simulator; QUANT_BROKER)"
    return "paper (fills against the market's ticks; QUANT_BROKER)"
