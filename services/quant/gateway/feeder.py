"""Feeds the gateway's read model and its stream API from the bus.

Ticks, greeks and enriched ticks update the read model
(:class:`~quant.gateway.readmodel.LiveMarketState`); then every event goes to the stream's
:class:`~quant.gateway.stream_hub.StreamHub` (when there is one): ticks and enriched ticks
as quotes, closed 1-minute candles, each poll's scanner picks as one message, and order
events (with the fills they carry). A composition root runs :func:`feed_read_model` in its
TaskGroup with a consumer in a group of its own (every gateway replica needs every
message). Polling, decoding and applying to the read model run in a worker thread, in
poll-sized batches; the fan-out to the stream's clients runs on the event loop (where the
hub and its clients live), one batch at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from quant.bus import codecs, topics
from quant.bus.port import Consumer, Received
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.stream_hub import StreamHub, StreamItem
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


def decode_apply(
    state: LiveMarketState, messages: Sequence[Received], keep: bool = False
) -> list[StreamItem]:
    """Decode ``messages`` and apply the market data to ``state``; returns the events for
    the stream (none unless ``keep``). Runs in the feed's worker thread."""
    out: list[StreamItem] = []
    for msg in messages:
        value = msg.value()
        if not isinstance(value, bytes):
            continue
        topic = msg.topic()
        try:
            if topic == topics.TICKS.name:
                tick = codecs.decode_tick(value)
                state.apply(tick)
                if keep:
                    out.append(tick)
            elif topic == topics.ENRICHED.name:
                enriched = codecs.decode_enriched(value)
                state.apply(enriched)
                if keep:
                    out.append(enriched)
            elif topic == topics.GREEKS.name:
                state.apply(codecs.decode_greeks(value))
            elif not keep:
                continue
            elif topic == topics.CANDLES.name:
                out.append(codecs.decode_candle(value))
            elif topic == topics.ORDERS.name:
                out.append(codecs.decode_order(value))
            elif topic == topics.SUGGESTIONS.name:
                out.append(codecs.decode_suggestion(value))
        except codecs.CodecError:
            log.exception("undecodable message on %s; skipped", topic)
    return out


def apply_messages(
    state: LiveMarketState, messages: Sequence[Received], hub: StreamHub | None = None
) -> int:
    """Apply ``messages`` to ``state`` and hand them to ``hub`` (on the event loop);
    returns how many there were."""
    events = decode_apply(state, messages, keep=hub is not None)
    if hub is not None:
        hub.publish_batch(events)
    return len(messages)


def apply_batch(
    state: LiveMarketState,
    consumer: Consumer,
    max_messages: int,
    timeout: float,
    keep: bool = False,
) -> list[StreamItem]:
    """Poll once (blocking), decode and apply what arrived; the stream's events if ``keep``."""
    return decode_apply(state, consumer.poll(max_messages, timeout), keep)


async def feed_read_model(
    state: LiveMarketState,
    consumer: Consumer,
    *,
    max_messages: int = 5000,
    poll_s: float = 0.2,
    hub: StreamHub | None = None,
) -> None:
    """Apply bus messages to ``state`` (and ``hub``) until cancelled (not committed)."""
    keep = hub is not None
    try:
        while True:
            events = await run_blocking(apply_batch, state, consumer, max_messages, poll_s, keep)
            if hub is not None and events:
                hub.publish_batch(events)
    finally:
        await run_blocking(consumer.close)
