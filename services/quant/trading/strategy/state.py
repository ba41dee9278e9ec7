"""A strategy's small persistent state, and the port it is saved and loaded through.

``ctx.state`` is a plain ``dict`` of JSON values (str, int, float, bool, None, lists and
dicts of them, string keys) that survives a restart: the host loads it from a
``StateStore`` before ``on_start`` and saves it after ``on_stop`` (and whenever the caller
asks, ``StrategyHost.save_states``). ``check_json`` refuses anything else with the path of
the bad value, so a strategy learns at the first save, not after a restart. Keep it small:
counters, the day's decisions, a level to defend; not history (that is in the store).

``StateStore`` is a 2-method port owned by the host; ``MemoryStateStore`` is the in-memory
implementation for tests and backtests (a backtest starts from empty state). The runtime
provides a durable one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Protocol

from quant.trading.strategy.errors import StateError

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
State = dict[str, JsonValue]


class StateStore(Protocol):
    """Where strategies' persistent state lives, by strategy id."""

    def load(self, strategy_id: str) -> State | None:
        """The state saved for ``strategy_id``, or None if there is none."""
        ...

    def save(self, strategy_id: str, state: Mapping[str, JsonValue]) -> None:
        """Replace the state saved for ``strategy_id``."""
        ...


class MemoryStateStore:
    """``StateStore`` in a dict (deep copies in and out, like a real store)."""

    def __init__(self) -> None:
        self.saved: dict[str, State] = {}

    def load(self, strategy_id: str) -> State | None:
        state = self.saved.get(strategy_id)
        return copy.deepcopy(state) if state is not None else None

    def save(self, strategy_id: str, state: Mapping[str, JsonValue]) -> None:
        self.saved[strategy_id] = copy.deepcopy(dict(state))


def check_json(value: object, path: str = "state") -> None:
    """``StateError`` naming the first value under ``value`` that is not plain JSON."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StateError(f"{path} is {value!r}: JSON has no NaN or infinity")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_json(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise StateError(f"{path} has the key {k!r}: JSON object keys are strings")
            check_json(item, f"{path}[{k!r}]")
        return
    raise StateError(
        f"{path} is a {type(value).__name__} ({value!r}); the persistent state holds only "
        "str, int, float, bool, None, lists and dicts with string keys"
    )
