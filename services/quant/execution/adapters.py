"""The engine's ports over the platform's adapters: the audit store and the bus.

- :class:`StoreJournal` (:class:`~quant.execution.ports.OrderJournal`): the append-only
  ``executed_orders`` table of the relational store (PostgreSQL in the cluster, SQLite in
  ``quant up``); each call runs in a worker thread of its own (a :class:`Lane`) and returns
  once the rows are committed (``append_many``: one transaction), so "journalled" means
  durable.
- :class:`BusEventPublisher` (:class:`~quant.execution.ports.EventPublisher`): one message
  per order event on ``orders.events``, keyed by client order id (one order's events stay
  in order on one partition). ``send`` only queues; ``flush`` waits for a flush of the
  producer that began after it was called, run in a thread of its own: callers that flush
  while one is in flight share the next one (one Kafka round trip for a batch).
- :class:`BusControlPublisher` (:class:`~quant.execution.ports.ControlPublisher`): a kill
  switch on the compacted ``control.commands``, keyed by its scope
  (:func:`quant.bus.control.publish_control`), flushed before returning.
- :class:`UpstoxQuoteSource` (:class:`~quant.execution.ports.QuoteSource`): the Upstox full
  market quote (``GET /v2/market-quote/quotes``, batched by 500 keys) through the
  rate-limited :class:`~quant.upstox.rest.UpstoxRestClient`: circuit limits, LTP, best
  bid / ask, and the quote's ``timestamp`` (else its last trade time) as its time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from quant.bus import codecs, topics
from quant.bus.control import publish_control
from quant.bus.port import Publisher
from quant.core.control import KillSwitch
from quant.core.orders import OrderEvent
from quant.execution.ports import ReferenceQuote
from quant.runtime.blocking import Lane, run_blocking
from quant.store.ports import OrderAudit
from quant.upstox.models import Quote
from quant.upstox.rest import UpstoxRestClient


class StoreJournal:
    """``OrderJournal`` over the relational store's ``executed_orders``."""

    def __init__(self, store: OrderAudit) -> None:
        self._store = store
        self._lane = Lane("journal")

    async def append(self, event: OrderEvent) -> None:
        await self._lane.run(self._store.append_order_event, event)

    async def append_many(self, events: Sequence[OrderEvent]) -> None:
        await self._lane.run(self._store.append_order_events, list(events))

    async def since(self, ts_init: int) -> list[OrderEvent]:
        return await self._lane.run(self._store.order_events_since, ts_init)

    def close(self) -> None:
        """Let the journal's thread end (nothing is in flight once the engine stopped)."""
        self._lane.close()


class BusEventPublisher:
    """``EventPublisher`` on ``orders.events`` (see the module docstring)."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        self._lane = Lane("order-events")
        self._sent = 0  # events sent so far
        self._delivered = 0  # of those, the ones a finished flush covered
        self._flushing: asyncio.Task[None] | None = None

    def send(self, event: OrderEvent) -> None:
        value = codecs.encode_order(event)
        self._publisher.publish(topics.ORDERS.name, event.client_order_id, value)
        self._sent += 1

    async def flush(self) -> None:
        """Return once every event sent before this call is delivered (raises if not)."""
        wanted = self._sent
        while self._delivered < wanted:
            task = self._flushing
            if task is None or task.done():
                task = self._flushing = asyncio.ensure_future(self._flush_once())
            await asyncio.shield(task)  # each waiter sees the flush's error; none cancels it

    async def _flush_once(self) -> None:
        covers = self._sent  # a flush delivers everything produced before it starts
        await self._lane.run(self._publisher.flush)
        self._delivered = max(self._delivered, covers)

    async def publish(self, event: OrderEvent) -> None:
        """``send`` then ``flush``."""
        self.send(event)
        await self.flush()

    def close(self) -> None:
        """Let the flushing thread end (the owner closes the producer itself)."""
        self._lane.close()


class BusControlPublisher:
    """``ControlPublisher`` on ``control.commands``."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def publish(self, command: KillSwitch) -> None:
        publish_control(self._publisher, command)
        await run_blocking(self._publisher.flush)


def reference_quote(q: Quote) -> ReferenceQuote:
    """The engine's view of an Upstox full market quote."""
    top = q.depth[0] if q.depth else None
    return ReferenceQuote(
        instrument_key=q.instrument_key,
        ltp=q.last_price,
        best_bid=top.bid_price if top else 0,
        best_ask=top.ask_price if top else 0,
        lower_circuit=q.lower_circuit,
        upper_circuit=q.upper_circuit,
        ts_event=q.timestamp_ns or q.last_trade_time_ns,
        depth=q.depth,
    )


class UpstoxQuoteSource:
    """``QuoteSource`` over the Upstox REST client's full market quote."""

    def __init__(self, rest: UpstoxRestClient) -> None:
        self._rest = rest

    async def quotes(self, instrument_keys: Sequence[str]) -> Mapping[str, ReferenceQuote]:
        got = await self._rest.full_quotes(list(instrument_keys))
        return {k: reference_quote(q) for k, q in got.items()}
