"""Feeds the gateway's read model and its stream API from the bus.

Ticks, greeks and enriched ticks update the read model
(:class:`~quant.gateway.readmodel.LiveMarketState`); then every event goes to the stream's
:class:`~quant.gateway.stream_hub.StreamHub` (when there is one): ticks and enriched ticks
as quotes, closed 1-minute candles, each poll's scanner picks as one message, and order
events (with the fills they carry). A composition root runs :func:`feed_read_model` in its
TaskGroup with a consumer in a group of its own (every gateway replica needs every
message). Blocking polls run in a worker thread; decoding, applying and fanning out happen
on the event loop (the hub's clients live there), in poll-sized batches.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from quant.bus import codecs, topics
from quant.bus.port import Consumer, Received
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.stream_hub import StreamHub
from quant.runtime.blocking import run_blocking

log = logging.getLogger(__name__)

FEED_TOPICS = (
    topics.TICKS.name,
    topics.GREEKS.name,
    topics.ENRICHED.name,
    topics.CANDLES.name,
    topics.SUGGESTIONS.name,
    topics.ORDERS.name,
)


def apply_messages(
    state: LiveMarketState, messages: Sequence[Received], hub: StreamHub | None = None
) -> int:
    """Apply ``messages`` to ``state`` and offer them to ``hub``; returns how many there were."""
    for msg in messages:
        value = msg.value()
        if not isinstance(value, bytes):
            continue
        topic = msg.topic()
        try:
            if topic == topics.TICKS.name:
                tick = codecs.decode_tick(value)
                state.apply(tick)
                if hub is not None:
                    hub.publish(tick)
            elif topic == topics.ENRICHED.name:
                enriched = codecs.decode_enriched(value)
                state.apply(enriched)
                if hub is not None:
                    hub.publish(enriched)
            elif topic == topics.GREEKS.name:
                state.apply(codecs.decode_greeks(value))
            elif hub is None:
                continue
            elif topic == topics.CANDLES.name:
                hub.publish(codecs.decode_candle(value))
            elif topic == topics.ORDERS.name:
                hub.publish(codecs.decode_order(value))
            elif topic == topics.SUGGESTIONS.name:
                hub.add_suggestion(codecs.decode_suggestion(value))
        except codecs.CodecError:
            log.exception("undecodable message on %s; skipped", topic)
    if hub is not None:
        hub.flush_scanner()
    return len(messages)


def apply_batch(
    state: LiveMarketState,
    consumer: Consumer,
    max_messages: int,
    timeout: float,
    hub: StreamHub | None = None,
) -> int:
    """Poll once (blocking) and apply what arrived; returns the number of messages."""
    return apply_messages(state, consumer.poll(max_messages, timeout), hub)


async def feed_read_model(
    state: LiveMarketState,
    consumer: Consumer,
    *,
    max_messages: int = 5000,
    poll_s: float = 0.2,
    hub: StreamHub | None = None,
) -> None:
    """Apply bus messages to ``state`` (and ``hub``) until cancelled (not committed)."""
    try:
        while True:
            messages = await run_blocking(consumer.poll, max_messages, poll_s)
            apply_messages(state, messages, hub)
    finally:
        await run_blocking(consumer.close)
