"""The strategy API's exceptions: a bad configuration, bad parameters, bad persistent state.

``StrategyError`` is the base; it is a ``TradingError`` so a caller that handles the trading
domain's errors handles these too. A strategy's own exceptions (raised from a callback) are
not wrapped: the host catches them, stops that strategy and records a ``StrategyFailure``.
"""

from __future__ import annotations

from quant.trading.errors import TradingError


class StrategyError(TradingError):
    """Something about a strategy, its configuration or its use of the API is wrong."""


class InvalidParams(StrategyError):
    """A strategy's parameters do not validate against its ``Params`` model."""


class StateError(StrategyError):
    """A strategy's persistent state is not a dict of JSON values."""
