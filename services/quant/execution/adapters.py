"""The engine's ports over the platform's adapters: the audit store and the bus.

- :class:`StoreJournal` (:class:`~quant.execution.ports.OrderJournal`): the append-only
  ``executed_orders`` table of the relational store (PostgreSQL in the cluster, SQLite in
  ``quant up``); each call runs in a worker thread (:func:`run_blocking`) and returns once
  the row is committed, so "journalled" means durable.
- :class:`BusEventPublisher` (:class:`~quant.execution.ports.EventPublisher`): one message
  per order event on ``orders.events``, keyed by client order id (one order's events stay
  in order on one partition), flushed before returning.
- :class:`BusControlPublisher` (:class:`~quant.execution.ports.ControlPublisher`): a kill
  switch on the compacted ``control.commands``, keyed by its scope
  (:func:`quant.bus.control.publish_control`), flushed before returning.
"""

from __future__ import annotations

from quant.bus import codecs, topics
from quant.bus.control import publish_control
from quant.bus.port import Publisher
from quant.core.control import KillSwitch
from quant.core.orders import OrderEvent
from quant.runtime.blocking import run_blocking
from quant.store.ports import OrderAudit


class StoreJournal:
    """``OrderJournal`` over the relational store's ``executed_orders``."""

    def __init__(self, store: OrderAudit) -> None:
        self._store = store

    async def append(self, event: OrderEvent) -> None:
        await run_blocking(self._store.append_order_event, event)

    async def since(self, ts_init: int) -> list[OrderEvent]:
        return await run_blocking(self._store.order_events_since, ts_init)


class BusEventPublisher:
    """``EventPublisher`` on ``orders.events``."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def publish(self, event: OrderEvent) -> None:
        value = codecs.encode_order(event)
        self._publisher.publish(topics.ORDERS.name, event.client_order_id, value)
        await run_blocking(self._publisher.flush)


class BusControlPublisher:
    """``ControlPublisher`` on ``control.commands``."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def publish(self, command: KillSwitch) -> None:
        publish_control(self._publisher, command)
        await run_blocking(self._publisher.flush)
