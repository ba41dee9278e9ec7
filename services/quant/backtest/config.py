"""What one backtest run is configured with, besides the strategy's own parameters.

``BacktestConfig`` (a pydantic model, so a YAML ``backtest:`` section validates with a
clear message and a sweep can ship it to worker processes) holds the data kind, the
starting capital, the execution service's own settings sections (``risk``, ``rate``,
``paper``: the same classes ``quant execution`` reads from ``QUANT_RISK__*`` ...), the MIS
square-off time and the synthetic book used with bar data. ``load_config_file`` reads a
``--config`` YAML file: either the strategy's parameters alone, or ``params:`` and
``backtest:`` sections.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from quant.execution.settings import PaperSettings, RateSettings, RiskSettings
from quant.trading.squareoff import DEFAULT_SQUARE_OFF

DataKind = Literal["bars", "ticks"]
_SECTIONS = frozenset({"params", "backtest"})


class BacktestConfig(BaseModel):
    """One run's settings (see the module docstring); money in rupees."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data: DataKind = "bars"
    capital: Decimal = Field(default=Decimal(1_000_000), gt=0)
    risk: RiskSettings = RiskSettings()
    rate: RateSettings = RateSettings()
    paper: PaperSettings = PaperSettings()
    square_off_at: time = DEFAULT_SQUARE_OFF
    #: bar data: the synthetic book at each bar's close is close -/+ this many tick sizes
    half_spread_ticks: int = Field(default=1, ge=0, le=100)
    #: bar data: the quantity shown at that bid and ask
    bar_depth_quantity: int = Field(default=1_000_000, ge=1)
    #: the strategy's id (it names its orders); "" = its class name in lower case, as
    #: ``quant strategy run`` names it, so a backtest's order ids match a paper run's
    strategy_id: str = ""
    algo_name: str = ""

    @property
    def capital_paise(self) -> int:
        return int(self.capital * 100)


class ConfigFileError(ValueError):
    """The ``--config`` file cannot be read or has the wrong shape."""


def load_config_file(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(strategy parameters, ``backtest`` section) from a YAML file; see the module docstring."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigFileError(f"cannot read the config file {path}: {e}") from e
    except yaml.YAMLError as e:
        raise ConfigFileError(f"the config file {path} is not valid YAML: {e}") from e
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigFileError(
            f"the config file {path} must hold a mapping (the strategy's parameters, or "
            f"'params:' and 'backtest:' sections), not {type(data).__name__}"
        )
    if data and set(data) <= _SECTIONS:
        params, section = data.get("params") or {}, data.get("backtest") or {}
        for name, value in (("params", params), ("backtest", section)):
            if not isinstance(value, dict):
                raise ConfigFileError(f"{path}: '{name}:' must be a mapping")
        return dict(params), dict(section)
    return dict(data), {}
