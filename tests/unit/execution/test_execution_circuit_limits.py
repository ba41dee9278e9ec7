"""Circuit limits from the REST quote: fetched once per instrument per IST day (batched),
applied to the risk quote (PRICE_BAND), a first quote seeded when no tick came (aged by its
own time), a failure counted, logged once, the band left unchecked and retried later, a
slow source never holding an intent for long."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from engine_kit import (
    EQ_KEY,
    FO_KEY,
    RecordingMetrics,
    Rig,
    at,
    intent,
    make_rig,
    msg,
    tick,
)

from quant.core.clock import FakeClock
from quant.core.orders import OrderType, Side
from quant.execution.ports import ReferenceQuote
from quant.trading.intent import IntentMessage
from quant.trading.risk_limits import RejectReason
from quant.trading.snapshot import Quote

R = RejectReason
LOWER, UPPER = 225_000, 275_000  # RELIANCE 2500.00 +- 10 %


class FakeQuotes:
    """A ``QuoteSource`` answering from ``table`` (at the clock's time unless ``ts``);
    ``fail`` the next requests; ``gate`` holds each request until set."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.requests: list[tuple[str, ...]] = []
        self.table: dict[str, tuple[int, int, int]] = {EQ_KEY: (250_000, LOWER, UPPER)}
        self.ts: int | None = None
        self.fail = 0
        self.gate: asyncio.Event | None = None

    async def quotes(self, instrument_keys: Sequence[str]) -> Mapping[str, ReferenceQuote]:
        self.requests.append(tuple(instrument_keys))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise ConnectionError("upstox is down")
        ts = self.ts if self.ts is not None else self.clock.now_ns()
        out = {}
        for k in instrument_keys:
            if k in self.table:
                ltp, lo, hi = self.table[k]
                out[k] = ReferenceQuote(k, ltp, ltp - 10, ltp + 10, lo, hi, ts)
        return out


def rig_with_quotes(now: int | None = None, **kw: Any) -> tuple[Rig, FakeQuotes]:
    clock = FakeClock(now if now is not None else at(10, 0))
    source = FakeQuotes(clock)
    return make_rig(clock=clock, quotes=source, **kw), source


def limit(price: int, side: Side = Side.BUY) -> IntentMessage:
    return msg(intent(side, 10, OrderType.LIMIT, price))


async def test_without_a_source_an_order_with_no_tick_is_no_quote_and_the_band_unchecked() -> None:
    rig = make_rig()
    await rig.engine.recover()
    sub = await rig.engine.submit(limit(250_000))
    assert sub.rejected is not None and sub.rejected.reason is R.NO_QUOTE
    rig.engine.on_tick(tick(EQ_KEY, 250_000, rig.clock.now_ns()))
    beyond = await rig.engine.submit(limit(UPPER + 1_000))
    assert beyond.rejected is None  # nothing knows the band: the broker will refuse it


async def test_the_first_intent_fetches_the_band_and_a_first_quote_once() -> None:
    rig, source = rig_with_quotes()
    await rig.engine.recover()
    assert source.requests == []  # nothing held, nothing asked
    ok = await rig.engine.submit(limit(250_000))  # no tick yet: the REST quote is the quote
    assert ok.rejected is None, ok.rejected
    beyond = await rig.engine.submit(limit(UPPER + 1_000))
    assert beyond.rejected is not None and beyond.rejected.reason is R.PRICE_BAND
    assert "circuit" in beyond.rejected.message
    below = await rig.engine.submit(limit(LOWER - 10, Side.SELL))
    assert below.rejected is not None and below.rejected.reason is R.PRICE_BAND
    # a tick replaces the quote, and keeps the band
    rig.clock.advance(1)
    rig.engine.on_tick(tick(EQ_KEY, 251_000, rig.clock.now_ns()))
    again = await rig.engine.submit(limit(UPPER + 10))
    assert again.rejected is not None and again.rejected.reason is R.PRICE_BAND
    assert source.requests == [(EQ_KEY,)]  # once per instrument per day


async def test_the_seeded_quote_is_aged_by_its_own_time() -> None:
    rig, source = rig_with_quotes()
    source.ts = rig.clock.now_ns() - 30 * 10**9  # taken 30 s ago (the limit is 5 s)
    await rig.engine.recover()
    sub = await rig.engine.submit(limit(250_000))
    assert sub.rejected is not None and sub.rejected.reason is R.NO_QUOTE
    assert "stale" in sub.rejected.message


async def test_a_tick_newer_than_the_rest_quote_is_kept_and_gets_the_band() -> None:
    rig, source = rig_with_quotes()
    source.ts = rig.clock.now_ns() - 10**9
    await rig.engine.recover()
    rig.engine.on_tick(tick(EQ_KEY, 252_000, rig.clock.now_ns()))
    await rig.engine.prefetch_quotes([EQ_KEY])
    q = rig.engine._b.quotes[EQ_KEY]
    assert q == Quote(252_000, 251_990, 252_010, UPPER, LOWER, rig.clock.now_ns())


async def test_a_batch_is_one_request_and_unknown_instruments_are_not_asked_again() -> None:
    rig, source = rig_with_quotes()
    await rig.engine.recover()
    await rig.engine.prefetch_quotes([EQ_KEY, FO_KEY, EQ_KEY])
    assert source.requests == [(EQ_KEY, FO_KEY)]
    await rig.engine.submit(msg(intent(key=FO_KEY, qty=75, price=10_000)))  # no quote for it
    await rig.engine.submit(limit(250_000))
    assert source.requests == [(EQ_KEY, FO_KEY)]


async def test_a_new_trading_day_fetches_the_band_again() -> None:
    rig, source = rig_with_quotes()
    await rig.engine.recover()
    await rig.engine.submit(limit(250_000))
    rig.clock.advance(86_400)
    await rig.engine.submit(limit(250_000))
    assert source.requests == [(EQ_KEY,), (EQ_KEY,)]


async def test_a_failure_is_counted_logged_once_unchecked_then_retried_by_the_timer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = RecordingMetrics()
    rig, source = rig_with_quotes(metrics=metrics)
    source.fail = 2
    await rig.engine.recover()
    rig.engine.on_tick(tick(EQ_KEY, 250_000, rig.clock.now_ns()))
    with caplog.at_level(logging.DEBUG, logger="quant.execution.refquotes"):
        beyond = await rig.engine.submit(limit(UPPER + 1_000))
        assert beyond.rejected is None  # no band known: unchecked, not refused
        await rig.engine.submit(limit(250_000))  # before the retry time: not asked again
        assert len(source.requests) == 1
        rig.clock.advance(31)
        rig.engine.on_tick(tick(EQ_KEY, 250_000, rig.clock.now_ns()))
        await rig.engine.on_time()  # the retry (fails again)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(source.requests) == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "without circuit limits" in warnings[0].getMessage()
    assert metrics.named("quote_fetch_failed") == [("quote_fetch_failed",)] * 2

    rig.clock.advance(31)
    rig.engine.on_tick(tick(EQ_KEY, 250_000, rig.clock.now_ns()))
    later = await rig.engine.submit(limit(UPPER + 1_000))  # the retry succeeds first
    assert later.rejected is not None and later.rejected.reason is R.PRICE_BAND
    assert len(source.requests) == 3


async def test_a_slow_source_holds_an_intent_at_most_the_wait_and_applies_later() -> None:
    rig, source = rig_with_quotes(quote_wait_s=0.05)
    source.gate = asyncio.Event()
    await rig.engine.recover()
    rig.engine.on_tick(tick(EQ_KEY, 250_000, rig.clock.now_ns()))
    beyond = await asyncio.wait_for(rig.engine.submit(limit(UPPER + 1_000)), 5)
    assert beyond.rejected is None  # went on unchecked
    source.gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    again = await rig.engine.submit(limit(UPPER + 1_000))
    assert again.rejected is not None and again.rejected.reason is R.PRICE_BAND
    assert source.requests == [(EQ_KEY,)]


async def test_recovery_fetches_the_band_of_what_is_held() -> None:
    rig, source = rig_with_quotes(now=at(10, 0))
    await rig.engine.recover()
    rig.engine.on_tick(tick(EQ_KEY, 250_000, rig.clock.now_ns()))
    a = await rig.engine.submit(limit(250_000))
    await rig.engine.on_broker_update(rig.broker.fill(a.client_order_id, 10, 250_000))
    source.requests.clear()

    restarted = rig.restart(quotes=source)
    await restarted.engine.recover()
    assert source.requests == [(EQ_KEY,)]
    q = restarted.engine._b.quotes[EQ_KEY]
    assert (q.lower_circuit, q.upper_circuit) == (LOWER, UPPER)


async def test_a_tickless_instrument_gets_its_quote_again_when_it_goes_stale() -> None:
    rig, source = rig_with_quotes()
    await rig.engine.recover()
    a = await rig.engine.submit(msg(intent(order_type=OrderType.MARKET)))
    assert a.rejected is None
    await rig.engine.on_broker_update(rig.broker.fill(a.client_order_id, 10, 250_010))
    rig.clock.advance(10)  # no tick came: the REST quote is 10 s old (the limit is 5 s)
    b = await rig.engine.submit(limit(250_000))
    assert b.rejected is None, b.rejected  # fetched again rather than refused NO_QUOTE
    assert source.requests == [(EQ_KEY,), (EQ_KEY,)]
    source.table[EQ_KEY] = (251_000, LOWER, UPPER)
    rig.clock.advance(10)
    await rig.engine.submit(limit(250_000))
    assert rig.engine.marks()[EQ_KEY] == 251_000  # the newer REST quote marks the position
    assert len(source.requests) == 3
    await rig.engine.submit(limit(250_000))  # fresh again: not asked
    assert len(source.requests) == 3

    rig.clock.advance(10)
    await rig.engine.request_kill("flatten")  # closes the position: its quote fetched again
    closing = rig.engine.orders(1)[0]
    assert closing.intent.side is Side.SELL and closing.status.name == "OPEN", closing
    assert len(source.requests) == 4
