"""The one settings object of ``quant sync-instruments`` (built in its run function)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from quant.config import PostgresSettings, UpstoxSettings


class SyncSettings(BaseSettings):
    """Env prefix ``QUANT_``, nesting with ``__`` (e.g. ``QUANT_UPSTOX__ASSETS_BASE``)."""

    model_config = SettingsConfigDict(
        env_prefix="QUANT_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    upstox: UpstoxSettings = UpstoxSettings()
    postgres: PostgresSettings = PostgresSettings()
    relational_store: Literal["postgres", "sqlite"] = "postgres"
    sqlite_path: Path = Path.home() / ".local" / "share" / "quant-platform" / "relational.sqlite"
    instrument_files: tuple[str, ...] = ("NSE", "BSE")
    min_instruments: int = 1
    log_level: str = "INFO"
