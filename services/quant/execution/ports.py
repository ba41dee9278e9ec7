"""The execution engine's ports: what it needs from the outside, as small Protocols.

The engine does no I/O itself. It appends every order state change to an ``OrderJournal``
(the ``executed_orders`` audit trail; durable when ``append`` returns) *before* it sends the
order or publishes the change on an ``EventPublisher`` (``orders.events``, keyed by client
order id); kill switch commands it makes itself go out on a ``ControlPublisher``
(``control.commands``, compacted, keyed by scope). ``EngineMetrics`` receives what the
Prometheus metrics (``quant.execution.metrics``) show; ``NullMetrics`` drops it all.
The adapters over the relational store and the bus are in ``quant.execution.adapters``;
tests use in-memory ones.
"""

from __future__ import annotations

from typing import Protocol

from quant.core.control import KillSwitch
from quant.core.orders import OrderEvent


class OrderJournal(Protocol):
    """The append-only order audit trail (``executed_orders``)."""

    async def append(self, event: OrderEvent) -> None:
        """Store ``event``; it is durable when this returns (raise if it is not)."""
        ...

    async def since(self, ts_init: int) -> list[OrderEvent]:
        """Every event with ``ts_init >= ts_init``, oldest first (for recovery)."""
        ...


class EventPublisher(Protocol):
    """``orders.events``: every journaled order state change, keyed by client order id."""

    async def publish(self, event: OrderEvent) -> None: ...


class ControlPublisher(Protocol):
    """``control.commands``: the kill switch commands the engine is asked to make."""

    async def publish(self, command: KillSwitch) -> None: ...


class EngineMetrics(Protocol):
    """What the engine reports to its metrics (names in ``quant.execution.metrics``).

    Money in paise, times in seconds. Each call is cheap and never raises.
    """

    def intent(self) -> None:
        """One intent received (``intents_total``)."""
        ...

    def order_status(self, status: str) -> None:
        """An order reached ``status`` (an ``OrderStatus`` name; ``orders_total{status}``)."""
        ...

    def rejection(self, reason: str) -> None:
        """An intent or order was rejected with ``reason`` (``rejections_total{reason}``)."""
        ...

    def queue_depth(self, depth: int) -> None:
        """Orders waiting for their rate-limit slot (``limiter_queue_depth``)."""
        ...

    def trading_state(self, scope: str, state: int) -> None:
        """``scope`` ("account" or a strategy) is in ``state`` 0/1/2 (``trading_state``)."""
        ...

    def pnl(self, realised: int, unrealised: int, charges: int) -> None:
        """The account's P&L of the day in paise (``pnl_rupees{kind}``; net derived)."""
        ...

    def intent_to_ack(self, seconds: float) -> None:
        """From intent received to the broker's answer (``intent_to_ack_seconds``)."""
        ...

    def reconcile_mismatch(self, count: int = 1) -> None:
        """Recovery found ``count`` mismatches with the broker (``reconcile_mismatches_total``)."""
        ...


class NullMetrics:
    """``EngineMetrics`` that records nothing (tests, tools)."""

    def intent(self) -> None:
        pass

    def order_status(self, status: str) -> None:
        pass

    def rejection(self, reason: str) -> None:
        pass

    def queue_depth(self, depth: int) -> None:
        pass

    def trading_state(self, scope: str, state: int) -> None:
        pass

    def pnl(self, realised: int, unrealised: int, charges: int) -> None:
        pass

    def intent_to_ack(self, seconds: float) -> None:
        pass

    def reconcile_mismatch(self, count: int = 1) -> None:
        pass
