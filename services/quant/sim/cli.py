"""``quant sim``: run the Upstox-compatible simulator on one port until interrupted.

Logs the base URL and the feed URL. With ``--token-file PATH`` it writes a ready-to-use
access token for the simulator's own user there (mode 0600; valid until 03:30 IST on the
simulated clock); tokens are never logged.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quant.sim.config import SimConfig

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("sim", help="run the Upstox-compatible market simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    p.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=None,
        help="simulated start, e.g. 2026-11-24T09:14:00+05:30 (default: now during "
        "market hours, so exchange times are real time; else 09:14 IST of the next "
        "trading day)",
    )
    p.add_argument("--tls", action="store_true", help="serve HTTPS/WSS with a throwaway CA")
    p.add_argument("--redirect-status", type=int, choices=(302, 307), default=302)
    p.add_argument(
        "--step-interval", type=float, default=0.5, help="wall seconds between market steps"
    )
    p.add_argument("--notifier-url", default=None, help="webhook for the token-request flow")
    p.add_argument("--no-rate-limits", action="store_true")
    p.add_argument(
        "--equities",
        type=int,
        default=None,
        help="synthetic equities besides the NIFTY 50 (default 300; 2150 gives ~2,200 "
        "NSE EQ names, the size of the real list)",
    )
    p.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="write an access token for the simulator's user to this file",
    )
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """The simulator's configuration from the parsed ``quant sim`` arguments."""
    from quant.sim.config import SimConfig, live_start

    return SimConfig(
        seed=args.seed,
        speed=args.speed,
        start=args.start if args.start is not None else live_start(datetime.now(UTC)),
        host=args.host,
        port=args.port,
        tls=args.tls,
        redirect_status=args.redirect_status,
        step_interval=args.step_interval,
        notifier_url=args.notifier_url,
        rate_limits=not args.no_rate_limits,
        **({} if args.equities is None else {"extra_equities": args.equities}),
    )


def run(args: argparse.Namespace) -> int:
    from quant.sim.server import SimServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = config_from_args(args)

    async def main() -> None:
        async with SimServer(config) as sim:
            log.info("base URL %s", sim.base_url)
            log.info("feed URL %s", sim.ws_url)
            if sim.ca_file is not None:
                log.info("TLS CA file %s", sim.ca_file)
            if args.token_file is not None:
                fd = os.open(args.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(sim.mint_token() + "\n")
                log.info("access token written to %s", args.token_file)
            await sim.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        log.info("simulator stopped")
    return 0
