"""The stream API's fan-out: who is subscribed to what, and a bounded outbox per client.

The gateway's bus feeder (:mod:`quant.gateway.feeder`) hands each poll's events to
:meth:`StreamHub.publish_batch` after the read model applied them; the hub renders each message
once (:mod:`quant.gateway.stream_render`) and offers the same text to every subscribed
:class:`Outbox`. Publishing never waits on a client:

- market data per symbol (``quotes``, ``enriched``) is *conflated*: an outbox keeps only
  the newest message per (channel, instrument) until the client's writer takes it, so a
  slow client sees fewer, fresh quotes;
- everything else (``candles``, ``scanner``, and the account channels ``orders``,
  ``fills``, ``positions``, ``pnl``) is queued in order, at most ``queue_size``
  messages; a client that lets its queue overflow is *dropped* (the outbox is marked,
  the connection sends an error and closes): an account event is never silently lost.

Limits: ``max_connections`` clients per gateway, ``max_symbols`` symbols per channel per
client. Single-threaded: every method runs on the gateway's event loop.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Iterable

from quant.core.clock import Clock
from quant.core.events import Candle, EnrichedTick, OptionGreeks, ScannerSuggestion, Tick
from quant.core.orders import OrderEvent
from quant.gateway import stream_render as render
from quant.gateway.ports import InstrumentLookup, MarketReadModel
from quant.gateway.schemas import render_quote
from quant.gateway.settings import MarketSource, StreamLimits

#: channels whose messages are per symbol (subscribe with ``symbols``)
SYMBOL_CHANNELS = ("quotes", "enriched", "candles")
#: channels of the account: need an API key (or a session)
ACCOUNT_CHANNELS = ("orders", "fills", "positions", "pnl")
CHANNELS = (*SYMBOL_CHANNELS, "scanner", *ACCOUNT_CHANNELS)
#: why the gateway disconnects a client (the ``gateway_stream_dropped_total`` reasons)
DROP_REASONS = ("slow_consumer", "too_many_connections")
#: per-symbol channels whose messages are conflated (newest wins)
CONFLATED = frozenset({"quotes", "enriched"})

__all__ = ["Outbox", "StreamHub", "StreamItem", "StreamLimits", "Subscriber"]

StreamEvent = Tick | EnrichedTick | OptionGreeks | Candle | OrderEvent
StreamItem = StreamEvent | ScannerSuggestion  # what the feeder hands over


class Outbox:
    """One client's pending messages: an ordered bounded queue and the conflated latest."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._queue: deque[str] = deque()
        self._latest: dict[tuple[str, str], str] = {}
        self._ready = asyncio.Event()
        self.dropped = asyncio.Event()  # set when the queue overflowed
        self.drop_reason = ""
        self.conflated = 0  # messages replaced by a newer one before they were sent

    def put(self, text: str) -> bool:
        """Queue ``text``; False (and the outbox marked dropped) when the queue is full."""
        if self.dropped.is_set():
            return False
        if len(self._queue) >= self.capacity:
            self.drop_reason = (
                f"this client fell behind: more than {self.capacity} messages waited to be "
                "sent; read faster or subscribe to less"
            )
            self.dropped.set()
            return False
        self._queue.append(text)
        self._ready.set()
        return True

    def put_latest(self, key: tuple[str, str], text: str) -> bool:
        """Offer ``text`` as the newest message for ``key``, replacing one not yet sent
        (then True: one message conflated away)."""
        replaced = key in self._latest
        self.conflated += replaced
        self._latest[key] = text
        self._ready.set()
        return replaced

    def discard(self, channel: str, instrument_key: str) -> None:
        self._latest.pop((channel, instrument_key), None)

    def pending(self) -> int:
        return len(self._queue) + len(self._latest)

    def take(self) -> list[str]:
        """Everything pending (queued first, then the latest per key); empty when none."""
        out = list(self._queue)
        self._queue.clear()
        if self._latest:
            out.extend(self._latest.values())
            self._latest.clear()
        self._ready.clear()
        return out

    async def next_batch(self) -> list[str]:
        """Wait until something is pending, then take it."""
        while not self.pending():
            self._ready.clear()
            await self._ready.wait()
        return self.take()


class Subscriber:
    """One connection's subscriptions and outbox (the hub's view of a client)."""

    _ids = itertools.count(1)

    def __init__(self, capacity: int) -> None:
        self.id = next(self._ids)
        self.outbox = Outbox(capacity)
        self.symbols: dict[str, set[str]] = {c: set() for c in SYMBOL_CHANNELS}
        self.channels: set[str] = set()  # scanner and the account channels
        self.authenticated = False
        self.account_changed = asyncio.Event()  # a fill: positions and P&L changed


class StreamHub:
    """Subscriptions and fan-out of bus events to the stream's clients."""

    def __init__(
        self,
        market: MarketReadModel,
        instruments: InstrumentLookup,
        clock: Clock,
        *,
        source: MarketSource,
        stale_after_s: float,
        limits: StreamLimits | None = None,
    ) -> None:
        self.market = market
        self.instruments = instruments
        self.clock = clock
        self.source: MarketSource = source
        self.stale_after_s = stale_after_s
        self.limits = limits or StreamLimits()
        self._subscribers: dict[int, Subscriber] = {}
        # channel -> instrument_key -> subscriber ids; channel -> subscriber ids
        self._by_symbol: dict[str, dict[str, set[int]]] = {c: {} for c in SYMBOL_CHANNELS}
        self._by_channel: dict[str, set[int]] = {
            c: set() for c in CHANNELS if c not in SYMBOL_CHANNELS
        }
        self._filled: dict[str, tuple[int, int]] = {}  # client_order_id -> (qty, value)
        self._cycle: list[ScannerSuggestion] = []
        self.messages_out = 0  # data messages offered to outboxes
        self.conflated = 0  # quotes replaced by a newer one before a client took them
        self.dropped = dict.fromkeys(DROP_REASONS, 0)  # clients disconnected, by reason

    # -- connections -------------------------------------------------------------------

    def connections(self) -> int:
        return len(self._subscribers)

    def connect(self) -> Subscriber | None:
        """A new subscriber, or None when the gateway already has ``max_connections``."""
        if len(self._subscribers) >= self.limits.max_connections:
            self.dropped["too_many_connections"] += 1
            return None
        sub = Subscriber(self.limits.queue_size)
        self._subscribers[sub.id] = sub
        return sub

    def disconnect(self, sub: Subscriber) -> None:
        for channel, keys in sub.symbols.items():
            self._unindex(channel, sub.id, keys)
            keys.clear()
        for channel in sub.channels:
            self._by_channel[channel].discard(sub.id)
        sub.channels.clear()
        self._subscribers.pop(sub.id, None)

    # -- subscriptions -----------------------------------------------------------------

    def subscribe_symbols(self, sub: Subscriber, channel: str, keys: Iterable[str]) -> list[str]:
        """Add instrument ``keys`` to ``sub``'s ``channel``; returns the ones that are new.
        ValueError when that would pass ``max_symbols``."""
        have = sub.symbols[channel]
        new = [k for k in dict.fromkeys(keys) if k not in have]
        if len(have) + len(new) > self.limits.max_symbols:
            raise ValueError(
                f"at most {self.limits.max_symbols} symbols per channel: {channel} has "
                f"{len(have)}, this would add {len(new)}"
            )
        index = self._by_symbol[channel]
        for key in new:
            have.add(key)
            index.setdefault(key, set()).add(sub.id)
        return new

    def unsubscribe_symbols(
        self, sub: Subscriber, channel: str, keys: Iterable[str] | None
    ) -> list[str]:
        """Remove ``keys`` (None: all) from ``sub``'s ``channel``; returns the removed ones."""
        have = sub.symbols[channel]
        gone = list(have) if keys is None else [k for k in keys if k in have]
        have.difference_update(gone)
        self._unindex(channel, sub.id, gone)
        for key in gone:
            sub.outbox.discard(channel, key)
        return gone

    def subscribe_channel(self, sub: Subscriber, channel: str) -> None:
        sub.channels.add(channel)
        self._by_channel[channel].add(sub.id)

    def unsubscribe_channel(self, sub: Subscriber, channel: str) -> None:
        sub.channels.discard(channel)
        self._by_channel[channel].discard(sub.id)

    def _unindex(self, channel: str, sub_id: int, keys: Iterable[str]) -> None:
        index = self._by_symbol[channel]
        for key in keys:
            ids = index.get(key)
            if ids is not None:
                ids.discard(sub_id)
                if not ids:
                    del index[key]

    # -- messages ----------------------------------------------------------------------

    def quote_message(self, instrument_key: str) -> str | None:
        """The current quote of ``instrument_key`` (None: unknown, or no tick yet)."""
        inst = self.instruments.get(instrument_key)
        tick = self.market.last_tick(instrument_key)
        if inst is None or tick is None:
            return None
        quote = render_quote(
            inst,
            tick,
            self.market.last_enriched(instrument_key),
            source=self.source,
            now_ns=self.clock.now_ns(),
            stale_after_s=self.stale_after_s,
        )
        return render.envelope("quotes", quote.model_dump())

    def enriched_message(self, instrument_key: str) -> str | None:
        inst = self.instruments.get(instrument_key)
        enriched = self.market.last_enriched(instrument_key)
        if inst is None or enriched is None:
            return None
        return render.envelope("enriched", render.enriched_json(inst, enriched))

    # -- fan-out -----------------------------------------------------------------------

    def publish(self, event: StreamEvent) -> None:
        """Offer ``event`` to its subscribers (after the read model applied it)."""
        if isinstance(event, Tick):
            self._latest("quotes", event.instrument_key)
        elif isinstance(event, EnrichedTick):
            self._latest("enriched", event.instrument_key)
            self._latest("quotes", event.instrument_key)  # its VWAP, spread, imbalance
        elif isinstance(event, Candle):
            self._candle(event)
        elif isinstance(event, OrderEvent):
            self._order(event)

    def publish_batch(self, events: Iterable[StreamItem]) -> None:
        """Offer a poll's events in order (scanner picks: one message per cycle)."""
        for event in events:
            if isinstance(event, ScannerSuggestion):
                self.add_suggestion(event)
            else:
                self.publish(event)
        self.flush_scanner()

    def add_suggestion(self, pick: ScannerSuggestion) -> None:
        """Collect a scanner pick; :meth:`flush_scanner` sends the cycle's picks."""
        if self._cycle and self._cycle[0].ts_event != pick.ts_event:
            self.flush_scanner()
        self._cycle.append(pick)

    def flush_scanner(self) -> None:
        """Send the picks collected so far as one ``scanner`` message (after each poll's
        batch; a cycle split over two polls arrives as two messages with the same ``ts``)."""
        picks, self._cycle = self._cycle, []
        if picks and self._by_channel["scanner"]:
            self._queue("scanner", self._by_channel["scanner"], render.scanner_json(picks))

    def _latest(self, channel: str, instrument_key: str) -> None:
        ids = self._by_symbol[channel].get(instrument_key)
        if not ids:
            return
        text = (
            self.quote_message(instrument_key)
            if channel == "quotes"
            else self.enriched_message(instrument_key)
        )
        if text is None:
            return
        key = (channel, instrument_key)
        for sub_id in ids:
            self.conflated += self._subscribers[sub_id].outbox.put_latest(key, text)
        self.messages_out += len(ids)

    def _candle(self, candle: Candle) -> None:
        ids = self._by_symbol["candles"].get(candle.instrument_key)
        inst = self.instruments.get(candle.instrument_key)
        if ids and inst is not None:
            self._queue("candles", ids, render.candle_json(inst, candle))

    def _order(self, event: OrderEvent) -> None:
        self._queue("orders", self._by_channel["orders"], render.order_json(event))
        qty, value = self._filled.get(event.client_order_id, (0, 0))
        added = event.filled_quantity - qty
        if added > 0:
            fill = render.fill_json(event, added, event.filled_value - value)
            self._queue("fills", self._by_channel["fills"], fill)
        if event.status.is_terminal:
            self._filled.pop(event.client_order_id, None)
        elif added > 0:
            self._filled[event.client_order_id] = (event.filled_quantity, event.filled_value)
        if added > 0:  # positions and P&L changed: their subscribers ask execution again
            for sub_id in self._by_channel["positions"] | self._by_channel["pnl"]:
                self._subscribers[sub_id].account_changed.set()

    def _queue(self, channel: str, ids: Iterable[int], data: dict[str, object]) -> None:
        ids = list(ids)
        if not ids:
            return
        text = render.envelope(channel, data)
        for sub_id in ids:
            self._subscribers[sub_id].outbox.put(text)
        self.messages_out += len(ids)
