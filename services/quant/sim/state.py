"""``SimState``: the objects one simulator instance shares across its routes and loops.

Built by :class:`quant.sim.server.SimServer` (or tests) from a :class:`SimConfig`; the
Starlette app reaches it as ``request.app.state.sim``. Also holds the fault switches and
the log of order commands (:class:`quant.sim.orderlog.OrderLog`).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from quant.core.clock import IST, datetime_to_ns, ns_to_datetime
from quant.sim.auth import TokenStore
from quant.sim.config import SimConfig
from quant.sim.errors import SimApiError, bad_input
from quant.sim.market import Market
from quant.sim.master import Universe, build_universe
from quant.sim.matching import OrderEngine
from quant.sim.orderlog import OrderLog
from quant.sim.ratelimit import RateLimiter
from quant.sim.simclock import SimClock


@dataclass(slots=True)
class Faults:
    """Fault switches read by the feed and REST layers (see SimServer's fault hooks)."""

    refuse_feed_status: int | None = None
    refuse_feed_count: int = 0
    feed_delay: float = 0.0
    rest_failures: list[tuple[str, int]] = field(default_factory=list)
    # order commands executed whose answer is then held back (the client times out)
    held_order_answers: int = 0
    held_answer_seconds: float = 0.0
    # instrument master faults: rows served instead of the universe's (by file:
    # "NSE", "BSE", None = complete) and a pause between 64 KiB chunks of the file
    master_rows: dict[str | None, list[dict[str, object]]] = field(default_factory=dict)
    master_chunk_delay: float = 0.0


class SimState:
    """Clock, universe, market, credentials, limiter, faults and order log of one simulator."""

    def __init__(self, config: SimConfig, today: datetime | None = None) -> None:
        self.config = config
        wall_today = (today or datetime.now(UTC)).astimezone(IST).date()
        start = config.start_time(wall_today)
        self.clock = SimClock(datetime_to_ns(start), config.speed)
        self.universe: Universe = build_universe(config, start.astimezone(IST).date())
        self.market = Market(self.universe, self.clock, config.seed, config.calendar)
        self.tokens = TokenStore(self.clock, config.user_id)
        self.limiter = RateLimiter(config.rate_limits)
        self.faults = Faults()
        self.engine = OrderEngine(self.market)
        self.order_log = OrderLog()

    def rows_for(self, raw: str | None, limit: int, param: str = "instrument_key") -> list[int]:
        """Resolve a comma-separated key list into row indices (unknown keys skipped)."""
        if not raw:
            raise bad_input(f"{param} is required", param)
        keys = [k.strip() for k in raw.split(",") if k.strip()]
        if len(keys) > limit:
            raise SimApiError(
                400, "UDAPI100042", f"Maximum {limit} instrument keys allowed", param, None
            )
        index = self.universe.index_of
        return [index[k] for k in keys if k in index]

    def today_ist(self) -> str:
        return ns_to_datetime(self.clock.now_ns(), IST).date().isoformat()

    def master_gz(self, exchange: str | None) -> bytes:
        """Gzipped JSON instrument master (cached), all rows or one exchange's (or the
        rows a fault hook substituted)."""
        if exchange in self.faults.master_rows:
            raw = json.dumps(self.faults.master_rows[exchange], separators=(",", ":")).encode()
            return gzip.compress(raw, compresslevel=5, mtime=0)
        cache = self.universe.gz_cache
        if exchange not in cache:
            rows = self.universe.exchange_rows(exchange)
            raw = json.dumps(rows, separators=(",", ":")).encode()
            cache[exchange] = gzip.compress(raw, compresslevel=5, mtime=0)
        return cache[exchange]
