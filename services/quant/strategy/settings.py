"""The one settings object of ``quant strategy run`` (env prefix ``QUANT_``, nesting ``__``).

The strategies themselves come from the command line and its config file
(:mod:`quant.strategy.config`); these are the runtime's own knobs. E.g.
``QUANT_METRICS_PORT=9105``, ``QUANT_DATA_DIR=/var/lib/quant`` (state files under
``strategies/``), ``QUANT_STRATEGY_GROUP=strategy-a`` (consumer group prefix),
``QUANT_BARS_FROM_TICKS=true`` (no feature engine: 1-minute bars from the raw ticks),
``QUANT_STRATEGY_CONFIG=/etc/quant/strategies.yaml`` (the strategies, when the command
line names none).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from quant.runtime.settings import DataServiceSettings
from quant.users.settings import DEFAULT_DATA_DIR

STATE_DIR = "strategies"


class StrategySettings(DataServiceSettings):
    """Everything ``quant strategy run`` reads; see the module docstring."""

    # /healthz /readyz /metrics (9101 ingestor, 9102 features, 9103 execution, 9104 scanner)
    metrics_port: int = Field(default=9105, ge=0, le=65535)
    # QUANT_STRATEGY_CONFIG: the strategies YAML (a 'strategies:' list) that
    # `quant strategy run` reads when given no SPEC and no --config (e.g. a mounted ConfigMap)
    strategy_config: Path | None = None
    # QUANT_DATA_DIR: each strategy's persistent state is data_dir/strategies/<id>.json
    data_dir: Path = DEFAULT_DATA_DIR
    # consumer groups are "<strategy_group>-market-<run>" and "-orders-<run>": each start
    # reads the market from the end of the log and orders.events from the beginning
    strategy_group: str = Field(default="strategy", min_length=1)
    # the longest a poll of the market topics waits (order events and timers are checked
    # between polls, so this bounds their delay on a quiet market)
    poll_s: float = Field(default=0.02, gt=0, le=1)
    batch_size: int = Field(default=2000, ge=1, le=100_000)
    # build the 1-minute bars from market.equity.ticks instead of reading the feature
    # engine's market.candles.1m
    bars_from_ticks: bool = False
    # a quiet instrument's bar is closed this long after its end
    bar_close_delay_s: float = Field(default=2.0, ge=0, le=60)
    # at start, orders.events is read to its end to restore the strategies' orders; with no
    # event there at all, this long (a new Kafka group waits for its partition assignment)
    restore_quiet_s: float = Field(default=3.0, ge=0, le=120)
    # persistent state is saved this often (and at stop, and when a strategy fails)
    save_state_every_s: float = Field(default=10.0, gt=0)
    # the metrics snapshot of the strategies is refreshed this often
    status_every_s: float = Field(default=1.0, gt=0, le=60)

    @property
    def state_dir(self) -> Path:
        return self.data_dir.expanduser() / STATE_DIR
