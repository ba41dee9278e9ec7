"""``Strategy``: the base class of every trading strategy, and its typed parameters.

A strategy is a Python class with callbacks; each gets the ``StrategyContext``
(``quant.trading.strategy.context``) and the event. Every callback is a no-op by default,
so a strategy overrides only what it uses; the host calls only the overridden ones.

Parameters are a pydantic model: subclass ``StrategyParams`` (unknown keys are refused,
values are frozen) and name it in the class, either as the generic argument
(``class MaCross(Strategy[MaCrossParams])``) or as the ``Params`` class attribute. The host
validates the configured values against it when the strategy is added (``InvalidParams``
with pydantic's message on a bad value) and sets ``self.params`` (typed as the model) and
``ctx.params``.

Callbacks run one at a time, in the order the host receives events; they must not block
(no I/O, no sleeping) and must not read the wall clock (use ``ctx.clock``). A callback that
raises stops its strategy; the other strategies keep running (``StrategyHost``).
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from quant.trading.strategy.errors import InvalidParams

if TYPE_CHECKING:
    from quant.core.events import Candle, EnrichedTick, ScannerSuggestion, Tick
    from quant.core.orders import OrderEvent
    from quant.trading.order import Fill
    from quant.trading.strategy.context import StrategyContext
    from quant.trading.strategy.timers import TimerEvent


class StrategyParams(BaseModel):
    """Base of a strategy's parameters: unknown keys refused, values frozen after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(StrategyParams):
    """The parameters of a strategy that takes none."""


if TYPE_CHECKING:  # a bare ``Strategy`` means ``Strategy[NoParams]`` (PEP 696 default)
    from typing_extensions import TypeVar as _TypeVar

    P = _TypeVar("P", bound=StrategyParams, default=NoParams)
else:
    P = TypeVar("P", bound=StrategyParams)

#: the callbacks a strategy may override, in the order of the module docstring of ``host``
CALLBACKS: tuple[str, ...] = (
    "on_start",
    "on_tick",
    "on_enriched",
    "on_bar",
    "on_suggestion",
    "on_order_update",
    "on_fill",
    "on_timer",
    "on_stop",
)


class Strategy(Generic[P]):
    """Base class of a strategy; override the callbacks you need (all default to no-ops)."""

    #: the pydantic model of the parameters (set from the generic argument when omitted)
    Params: ClassVar[type[StrategyParams]] = NoParams
    #: the validated parameters; set by the host before ``on_start``
    params: P

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Params" in cls.__dict__:
            if not (isinstance(cls.Params, type) and issubclass(cls.Params, StrategyParams)):
                raise TypeError(
                    f"{cls.__name__}.Params must be a subclass of StrategyParams, "
                    f"got {cls.Params!r}"
                )
            return
        for base in cls.__dict__.get("__orig_bases__", ()):
            if typing.get_origin(base) is not None and issubclass(
                typing.get_origin(base), Strategy
            ):
                args = typing.get_args(base)
                if args and isinstance(args[0], type) and issubclass(args[0], StrategyParams):
                    cls.Params = args[0]

    # --- lifecycle ----------------------------------------------------------------------------

    def on_start(self, ctx: StrategyContext) -> None:
        """Once, before any event: subscribe, set timers, read ``ctx.state``."""

    def on_stop(self, ctx: StrategyContext) -> None:
        """Once, at the end (or after a callback raised, best effort); ``ctx.state`` is saved
        after it returns."""

    # --- market data --------------------------------------------------------------------------

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> None:
        """A feed tick of one of the strategy's instruments."""

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        """A tick with the feature engine's features (VWAP, imbalance, aggressor, greeks)."""

    def on_bar(self, ctx: StrategyContext, bar: Candle) -> None:
        """A closed bar of an interval the strategy subscribed to (``ctx.subscribe_bars``);
        ``bar.interval_seconds`` tells which."""

    def on_suggestion(self, ctx: StrategyContext, suggestion: ScannerSuggestion) -> None:
        """A scanner pick (every strategy gets every pick, subscribed or not)."""

    # --- own orders ---------------------------------------------------------------------------

    def on_order_update(self, ctx: StrategyContext, event: OrderEvent) -> None:
        """A state change of one of the strategy's own orders (``ctx`` already reflects it)."""

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        """An execution of one of the strategy's own orders (after ``on_order_update`` of the
        same event; the position in ``ctx`` already includes it)."""

    # --- time ---------------------------------------------------------------------------------

    def on_timer(self, ctx: StrategyContext, timer: TimerEvent) -> None:
        """A timer set with ``ctx.at`` or ``ctx.every`` came due."""


def validate_params(
    strategy_class: type[Strategy[Any]], raw: Mapping[str, object] | BaseModel | None
) -> StrategyParams:
    """``raw`` validated against ``strategy_class.Params``; ``InvalidParams`` with pydantic's
    message (every bad field, its value and why) when it does not fit."""
    model = strategy_class.Params
    if isinstance(raw, model):
        return raw
    if isinstance(raw, BaseModel):
        raw = raw.model_dump()
    if raw is not None and not isinstance(raw, Mapping):
        raise InvalidParams(
            f"parameters for strategy {strategy_class.__name__} must be a mapping of names "
            f"to values, got {type(raw).__name__}"
        )
    try:
        return model.model_validate(dict(raw or {}))
    except ValidationError as e:
        raise InvalidParams(
            f"invalid parameters for strategy {strategy_class.__name__} ({model.__name__}): {e}"
        ) from e
