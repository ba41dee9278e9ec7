"""The one settings object of ``quant ingestor`` (env prefix ``QUANT_``, nesting ``__``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from quant.bus.settings import KafkaSettings
from quant.runtime.settings import ServiceSettings
from quant.store.settings import PostgresSettings
from quant.upstox.settings import UpstoxSettings


class IngestorSettings(ServiceSettings):
    """E.g. ``QUANT_UNIVERSE='["NIFTY 50","RELIANCE","OPTIONS:NIFTY 50"]'``."""

    kafka: KafkaSettings = KafkaSettings()
    upstox: UpstoxSettings = UpstoxSettings()
    universe: tuple[str, ...] = ("NIFTY 50", "NIFTY BANK")
    equity_mode: Literal["full", "ltpc"] = "full"
    option_mode: Literal["full", "option_greeks"] = "full"
    feed_connections: int = 1
    upstox_plus: bool = False
    use_authorize: bool = False
    instrument_files: tuple[str, ...] = ("NSE", "BSE")
    queue_size: int = 1024
    # the instrument master: from PostgreSQL (filled by `quant sync-instruments`) when
    # configured, else downloaded from upstox.assets_base at every start
    postgres: PostgresSettings | None = None
    metrics_port: int = Field(default=9101, ge=0, le=65535)
    control_group: str = "ingestor-control"
