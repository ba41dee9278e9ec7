"""The one settings object of ``quant sync-instruments`` (built in its run function)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from quant.runtime.settings import ServiceSettings
from quant.store.settings import PostgresSettings
from quant.upstox.settings import UpstoxSettings


class SyncSettings(ServiceSettings):
    """Env prefix ``QUANT_``, nesting with ``__`` (e.g. ``QUANT_UPSTOX__ASSETS_BASE``)."""

    upstox: UpstoxSettings = UpstoxSettings()
    postgres: PostgresSettings = PostgresSettings()
    relational_store: Literal["postgres", "sqlite"] = "postgres"
    sqlite_path: Path = Path.home() / ".local" / "share" / "quant-platform" / "relational.sqlite"
    instrument_files: tuple[str, ...] = ("NSE", "BSE")
    min_instruments: int = 1
