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
- :class:`UpstoxQuoteSource` (:class:`~quant.execution.ports.QuoteSource`): the Upstox full
  market quote (``GET /v2/market-quote/quotes``, batched by 500 keys) through the
  rate-limited :class:`~quant.upstox.rest.UpstoxRestClient`: circuit limits, LTP, best
  bid / ask, and the quote's ``timestamp`` (else its last trade time) as its time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from quant.bus import codecs, topics
from quant.bus.control import publish_control
from quant.bus.port import Publisher
from quant.core.control import KillSwitch
from quant.core.orders import OrderEvent
from quant.execution.ports import ReferenceQuote
from quant.runtime.blocking import run_blocking
from quant.store.ports import OrderAudit
from quant.upstox.models import Quote
from quant.upstox.rest import UpstoxRestClient


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
