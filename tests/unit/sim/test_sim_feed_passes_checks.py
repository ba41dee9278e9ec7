"""The simulator's normal feed passes the feed client's value checks, every tick of it.

A simulator emitting values the decoders reject would lose quotes for those instruments
in every run of ``quant up``: e.g. its order book once ladders deep out-of-the-money
options' bids below zero. Hundreds of equities, indices and options of all strikes in
every mode, session window on (the simulator runs today's or the next trading day, as
``quant up`` starts it), for 20,000 ticks from the open at 60x speed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from quant.core.clock import IST, SystemClock, ns_to_datetime
from quant.core.events import FeedMode
from quant.sim.config import SimConfig, default_start
from quant.sim.server import SimServer
from quant.upstox.config import FeedConfig
from quant.upstox.feed import UpstoxFeedClient
from quant.upstox.wire import FeedFrame


async def test_every_simulated_tick_passes_the_checks() -> None:
    today = ns_to_datetime(SystemClock().now_ns(), IST).date()
    start = default_start(today) + timedelta(minutes=1)
    config = SimConfig(start=start, speed=60.0, step_interval=0.1, rate_limits=False)
    async with SimServer(config) as sim:
        rows = sim.state.universe.rows
        by_segment: dict[str, list[str]] = {}
        for row in rows:
            by_segment.setdefault(str(row["segment"]), []).append(str(row["instrument_key"]))
        fo = by_segment["NSE_FO"]
        wanted = {  # options in full mode too: 5 depth levels reach the deep OTM bids
            FeedMode.FULL: by_segment["NSE_EQ"][:200] + by_segment["NSE_INDEX"][:20] + fo[:1200],
            FeedMode.OPTION_GREEKS: fo[1200:2000],
            FeedMode.LTPC: by_segment.get("BSE_EQ", [])[:100],
        }
        token = sim.mint_token()
        cfg = FeedConfig(api_base=sim.base_url)
        ticks = 0
        async with UpstoxFeedClient(lambda: token, cfg, clock=SystemClock()) as feed:
            for mode, keys in wanted.items():
                if keys:
                    await feed.subscribe(keys, mode)
            async with asyncio.timeout(60):
                async for item in feed:
                    if isinstance(item, FeedFrame):
                        ticks += len(item.ticks)
                    if ticks > 20_000:
                        break
            rejected = dict(feed.stats.rejected)
    assert ticks > 20_000
    assert rejected == {}
