"""Feeds the gateway's read model from the bus (ticks, greeks, enriched ticks).

A composition root runs :func:`feed_read_model` in its TaskGroup with a consumer in a
group of its own (every gateway replica needs every message). Blocking polls run in a
worker thread; decoding and applying happen on the event loop, in poll-sized batches.
"""

from __future__ import annotations

import logging

from quant.bus import codecs, topics
from quant.bus.port import Consumer
from quant.gateway.readmodel import LiveMarketState
from quant.runtime.blocking import run_blocking

log = logging.getLogger(__name__)

FEED_TOPICS = (topics.TICKS.name, topics.GREEKS.name, topics.ENRICHED.name)


def apply_batch(
    state: LiveMarketState, consumer: Consumer, max_messages: int, timeout: float
) -> int:
    """Poll once and apply what arrived; returns the number of messages applied."""
    messages = consumer.poll(max_messages, timeout)
    for msg in messages:
        value = msg.value()
        if not isinstance(value, bytes):
            continue
        topic = msg.topic()
        try:
            if topic == topics.TICKS.name:
                state.apply(codecs.decode_tick(value))
            elif topic == topics.ENRICHED.name:
                state.apply(codecs.decode_enriched(value))
            elif topic == topics.GREEKS.name:
                state.apply(codecs.decode_greeks(value))
        except codecs.CodecError:
            log.exception("undecodable message on %s; skipped", topic)
    return len(messages)


async def feed_read_model(
    state: LiveMarketState, consumer: Consumer, *, max_messages: int = 5000, poll_s: float = 0.2
) -> None:
    """Apply bus messages to ``state`` until cancelled (the read model is not committed)."""
    try:
        while True:
            await run_blocking(apply_batch, state, consumer, max_messages, poll_s)
    finally:
        await run_blocking(consumer.close)
