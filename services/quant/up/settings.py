"""The one settings object of ``quant up`` (env prefix ``QUANT_``, nesting with ``__``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from quant.execution.settings import PaperSettings, RateSettings, RiskSettings
from quant.gateway.settings import GatewaySettings, MarketSource
from quant.ingestor.freshness import FreshnessSettings
from quant.runtime.settings import ServiceSettings
from quant.scanner.settings import ScannerSettings
from quant.upstox.settings import UpstoxSettings
from quant.users.settings import DEFAULT_DATA_DIR

DEFAULT_UNIVERSE = (
    "NIFTY 50",
    "NIFTY BANK",
    "INDIA VIX",
    "SENSEX",
    "RELIANCE",
    "HDFCBANK",
    "ICICIBANK",
    "INFY",
    "TCS",
    "SBIN",
    "BHARTIARTL",
    "ITC",
    "LT",
    "AXISBANK",
    "FUTURES:NIFTY 50",
    "OPTIONS:NIFTY 50",
)


class UpSettings(ServiceSettings):
    """Everything ``quant up`` needs; the defaults give a live simulated market day."""

    gateway: GatewaySettings = GatewaySettings()
    # QUANT_DATA_DIR: the SQLite stores and admin.key; made absolute (the banner prints it)
    data_dir: Path = DEFAULT_DATA_DIR
    # QUANT_SOURCE / --source: the embedded simulator, or the user's Upstox account at
    # the hosts of ``upstox`` (QUANT_UPSTOX__API_BASE ...) with the token of `quant auth login`
    source: MarketSource = "sim"
    upstox: UpstoxSettings = UpstoxSettings()
    universe: tuple[str, ...] = DEFAULT_UNIVERSE
    equity_mode: Literal["full", "ltpc"] = "full"
    option_mode: Literal["full", "option_greeks"] = "full"
    feed_connections: int = 1
    freshness: FreshnessSettings = FreshnessSettings()  # of the feed (QUANT_FRESHNESS__*)
    # after the feed refused the token (401), re-read QUANT_UPSTOX__TOKEN_FILE this often
    token_reread_s: float = Field(default=60.0, gt=0)
    # QUANT_BROKER / --broker: where orders go. paper: the paper broker, filled against the
    # platform's own ticks; upstox: the live Upstox adapter, to the built-in simulator
    broker: Literal["paper", "upstox"] = "paper"
    # the X-Algo-Name of orders sent through the Upstox adapter (--broker upstox)
    algo_name: str = Field(default="quant-up", min_length=1)
    # the execution service's limits (QUANT_RISK__*, QUANT_RATE__*, QUANT_PAPER__*)
    risk: RiskSettings = RiskSettings()
    rate: RateSettings = RateSettings()
    paper: PaperSettings = PaperSettings()
    # QUANT_STRATEGY / --no-strategy: run the shipped example strategy (a moving-average
    # cross on 1-minute bars of RELIANCE, paper orders through the execution service)
    strategy: bool = True
    # the scanner (QUANT_SCANNER__*): its cadence is in the market's time (the
    # simulator's clock_speed is set from sim_speed)
    scanner: ScannerSettings = ScannerSettings()
    sim_seed: int = 7
    sim_speed: float = 1.0
    sim_start_minutes_after_open: float = 1.0

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()
