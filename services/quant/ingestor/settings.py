"""The one settings object of ``quant ingestor`` (env prefix ``QUANT_``, nesting ``__``)."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from quant.config import KafkaSettings, UpstoxSettings


class IngestorSettings(BaseSettings):
    """E.g. ``QUANT_UNIVERSE='["NIFTY 50","RELIANCE","OPTIONS:NIFTY 50"]'``."""

    model_config = SettingsConfigDict(
        env_prefix="QUANT_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

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
    metrics_port: int = 9101
    control_group: str = "ingestor-control"
    log_level: str = "INFO"
    log_json: bool = False
