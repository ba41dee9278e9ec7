"""The one settings object of ``quant ingestor`` (env prefix ``QUANT_``, nesting ``__``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from quant.ingestor.freshness import FreshnessSettings
from quant.runtime.settings import DataServiceSettings
from quant.upstox.checks import TickLimits


class IngestorSettings(DataServiceSettings):
    """E.g. ``QUANT_UNIVERSE='["NIFTY 50","RELIANCE","OPTIONS:NIFTY 50"]'``."""

    universe: tuple[str, ...] = ("NIFTY 50", "NIFTY BANK")
    equity_mode: Literal["full", "ltpc"] = "full"
    option_mode: Literal["full", "option_greeks"] = "full"
    feed_connections: int = 1
    upstox_plus: bool = False
    use_authorize: bool = False
    queue_size: int = 1024
    metrics_port: int = Field(default=9101, ge=0, le=65535)
    # consumer group of scanner.suggestions; control.commands is read from the start
    # on every run under "<control_group>-<random>" (compacted state, never committed)
    control_group: str = "ingestor-control"
    # after the feed refused the token (401), re-read the token file this often
    token_reread_s: float = Field(default=60.0, gt=0)
    # data age by exchange time: not ready above stale_after_s, reconnect above
    # reconnect_after_s (QUANT_FRESHNESS__STALE_AFTER_S, ...__RECONNECT_AFTER_S)
    freshness: FreshnessSettings = FreshnessSettings()
    tick_limits: TickLimits = TickLimits()
    """The feed decoders' value checks, e.g. ``QUANT_TICK_LIMITS__MAX_PRICE_RUPEES``."""
