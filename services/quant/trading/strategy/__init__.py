"""The strategy API: one strategy class for live, paper and backtest, and the host that runs it.

Pure domain (``quant.core`` and ``quant.trading`` only, plus pydantic for parameters): no
bus, no store, no broker, no wall clock. A strategy (``Strategy``, ``base``) is a class with
callbacks that receive a ``StrategyContext`` (``context``: clock, market state, own orders
and positions, parameters, persistent state, logger, order helpers that only emit commands,
``commands``). ``StrategyHost`` (``host``) feeds events to several strategies, fires their
timers (``timers``), builds their bars (``bars``), keeps their orders and positions
(``own_orders``), contains a failing one and collects the commands; live, paper and
backtest differ only in what feeds the host and where its commands go. The service layer
loads strategy classes (``quant.strategy.loader``). Guide: docs/strategies.md.
"""

from __future__ import annotations

from quant.trading.strategy.bars import BarBuilder, MinuteBarBuilder
from quant.trading.strategy.base import NoParams, Strategy, StrategyParams, validate_params
from quant.trading.strategy.commands import CancelRequest, Command, Emission
from quant.trading.strategy.context import StrategyContext
from quant.trading.strategy.errors import InvalidParams, StateError, StrategyError
from quant.trading.strategy.host import StrategyHost
from quant.trading.strategy.market import InstrumentState, MarketState
from quant.trading.strategy.own_orders import OpenOrder, Pnl
from quant.trading.strategy.state import JsonValue, MemoryStateStore, State, StateStore
from quant.trading.strategy.stats import (
    RunState,
    StrategyFailure,
    StrategyStats,
    StrategyStatus,
)
from quant.trading.strategy.timers import TimerEvent

__all__ = [
    "BarBuilder",
    "CancelRequest",
    "Command",
    "Emission",
    "InstrumentState",
    "InvalidParams",
    "JsonValue",
    "MarketState",
    "MemoryStateStore",
    "MinuteBarBuilder",
    "NoParams",
    "OpenOrder",
    "Pnl",
    "RunState",
    "State",
    "StateError",
    "StateStore",
    "Strategy",
    "StrategyContext",
    "StrategyError",
    "StrategyFailure",
    "StrategyHost",
    "StrategyParams",
    "StrategyStats",
    "StrategyStatus",
    "TimerEvent",
    "validate_params",
]
