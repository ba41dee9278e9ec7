"""The scanner's settings: the :class:`ScannerSettings` section (``QUANT_SCANNER__*``) and
the one settings object of ``quant scanner`` (:class:`ScannerServiceSettings`).

E.g. ``QUANT_SCANNER__INTERVAL_SECONDS=300 QUANT_SCANNER__TOP_N=20
QUANT_SCANNER__UNIVERSE='["NSE_EQ"]' QUANT_SCANNER__WEIGHTS__ORB=2``.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from quant.analytics.scanner_score import ScoreWeights
from quant.analytics.scanner_signals import SignalParams
from quant.core.events import FeedMode
from quant.runtime.settings import DataServiceSettings, Section
from quant.store.settings import QuestDBSettings

ALL_EQUITIES = "NSE_EQ"
"""The universe entry meaning every NSE equity (EQ series) of the instrument master."""


class WeightSettings(Section):
    """Weight of each signal in the composite score (``QUANT_SCANNER__WEIGHTS__ORB=2``)."""

    orb: float = 1.0
    high_dist: float = 1.0
    rel_volume: float = 1.0
    rel_strength: float = 1.0
    gap: float = 0.5
    vwap_dist: float = 0.5
    roc: float = 0.5
    contraction: float = 0.5

    def to_weights(self) -> ScoreWeights:
        return ScoreWeights(**self.model_dump())


class ScannerSettings(Section):
    """What the scanner scans, when, and how it scores (``QUANT_SCANNER__*``)."""

    # cycles at first_at, first_at + interval, ... (IST, the clock's time) before the close
    interval_seconds: int = Field(default=300, ge=1, le=3600)
    first_at: time = time(9, 20)
    top_n: int = Field(default=20, ge=1, le=500)
    # "NSE_EQ" (every NSE equity of the master), and/or symbols or instrument keys
    universe: tuple[str, ...] = (ALL_EQUITIES,)
    # the liquidity filter (rupees): last close >= min_price and median daily turnover
    # (close x volume over the stored sessions) >= min_turnover
    min_price: float = Field(default=20.0, ge=0)
    min_turnover: float = Field(default=10_000_000.0, ge=0)
    weights: WeightSettings = WeightSettings()
    # the score is NaN (no pick) for a name whose known signals weigh less than this share
    min_known_weight: float = Field(default=0.5, gt=0, le=1)
    or_minutes: int = Field(default=15, ge=1, le=120)
    history_days: int = Field(default=20, ge=1, le=250)  # daily sessions loaded
    volume_days: int = Field(default=10, ge=1, le=60)  # sessions of minute volume profile
    high_days: int = Field(default=20, ge=1, le=250)
    roc_minutes: int = Field(default=15, ge=1, le=120)
    contraction_short: int = Field(default=5, ge=1)
    contraction_long: int = Field(default=20, ge=2)
    feed_mode: Literal["full", "ltpc"] = "full"  # the mode the ingestor subscribes picks in
    index_key: str = "NSE_INDEX|Nifty 50"  # relative strength is against this index
    # start of day: fill missing daily and one-minute history with quant.backfill
    backfill: bool = True
    backfill_in_flight: int = Field(default=4, ge=1, le=16)
    # clock seconds per wall second: 1 for the exchange, the simulator's speed in quant up
    clock_speed: float = Field(default=1.0, gt=0)
    quote_batch: int = Field(default=500, ge=1, le=500)  # Upstox's keys per quote request

    @field_validator("universe")
    @classmethod
    def _some(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        entries = tuple(e.strip() for e in value if e.strip())
        if not entries:
            raise ValueError("the scanner universe is empty: use NSE_EQ or a list of symbols")
        return entries

    @model_validator(mode="after")
    def _windows(self) -> ScannerSettings:
        if self.contraction_short >= self.contraction_long:
            raise ValueError("contraction_short must be shorter than contraction_long")
        if max(self.high_days, self.contraction_long) > self.history_days:
            raise ValueError(
                f"history_days ({self.history_days}) must cover high_days and contraction_long"
            )
        if sum(abs(w) for w in self.weights.model_dump().values()) == 0:
            raise ValueError("the scanner weights are all 0: nothing to score")
        return self

    @property
    def params(self) -> SignalParams:
        return SignalParams(
            high_days=self.high_days,
            roc_minutes=self.roc_minutes,
            contraction_short=self.contraction_short,
            contraction_long=self.contraction_long,
        )

    @property
    def pick_mode(self) -> FeedMode:
        return FeedMode.FULL if self.feed_mode == "full" else FeedMode.LTPC


class ScannerServiceSettings(DataServiceSettings):
    """``quant scanner``: Kafka, the instrument master, Upstox (quotes, history), the tick
    store (history in, picks out) and the scanner section."""

    scanner: ScannerSettings = ScannerSettings()
    questdb: QuestDBSettings = QuestDBSettings()
    tick_store: Literal["questdb", "sqlite"] = "questdb"
    sqlite_path: Path = Path.home() / ".local" / "share" / "quant-platform" / "ticks.sqlite"
    metrics_port: int = Field(default=9104, ge=0, le=65535)
