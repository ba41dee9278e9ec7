"""The strategy runtime on the in-process bus: what goes to which strategy, what comes out
on ``orders.intents``, a strategy that raises, the day's orders restored at start, the
persistent state kept in its file, the metrics."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from strategy_kit import DAY, KEY, KEY2, candle, clock_at, enriched, order_event, suggestion

from execution_kit import until
from quant.bus import codecs, topics
from quant.bus.inprocess import InProcessBus
from quant.core.events import Candle, EnrichedTick, ScannerSuggestion
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, Side
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.trading.client_ids import client_order_id
from quant.trading.intent import IntentMessage
from quant.trading.order import Fill
from quant.trading.strategy import CancelRequest, Strategy, StrategyContext
from strategy_runtime_kit import Commands, configured, running, sample, settings

S = OrderStatus
CALLS: dict[str, list[tuple[str, Any]]] = defaultdict(list)


class Echo(Strategy):
    """Buys 1 at the last price on each enriched tick of KEY; cancels all on a pick."""

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.subscribe(KEY)
        n = ctx.state.get("ticks", 0)
        CALLS[ctx.strategy_id].append(("start", n))

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        CALLS[ctx.strategy_id].append(("enriched", tick.instrument_key))
        n = ctx.state.get("ticks", 0)
        ctx.state["ticks"] = (n if isinstance(n, int) else 0) + 1
        ctx.limit(KEY, Side.BUY, 1, tick.ltp)

    def on_suggestion(self, ctx: StrategyContext, suggestion: ScannerSuggestion) -> None:
        CALLS[ctx.strategy_id].append(("suggestion", suggestion.rank))
        ctx.cancel_all()

    def on_order_update(self, ctx: StrategyContext, event: OrderEvent) -> None:
        CALLS[ctx.strategy_id].append(("order", (event.client_order_id, event.status)))

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        CALLS[ctx.strategy_id].append(("fill", (fill.client_order_id, fill.quantity)))


class Watcher(Strategy):
    """Records what it gets: KEY2 only, 1-minute bars."""

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.subscribe(KEY2)
        ctx.subscribe_bars(1)

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        CALLS[ctx.strategy_id].append(("enriched", tick.instrument_key))

    def on_bar(self, ctx: StrategyContext, bar: Candle) -> None:
        CALLS[ctx.strategy_id].append(("bar", bar.instrument_key))

    def on_suggestion(self, ctx: StrategyContext, suggestion: ScannerSuggestion) -> None:
        CALLS[ctx.strategy_id].append(("suggestion", suggestion.rank))

    def on_order_update(self, ctx: StrategyContext, event: OrderEvent) -> None:
        CALLS[ctx.strategy_id].append(("order", event.client_order_id))


class Boom(Strategy):
    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        raise RuntimeError("boom")


def _publish_order(bus: InProcessBus, event: OrderEvent) -> None:
    bus.publisher().publish(topics.ORDERS.name, event.client_order_id, codecs.encode_order(event))


def _names(strategy_id: str) -> list[str]:
    return [n for n, _ in CALLS[strategy_id]]


async def test_events_go_to_their_strategies_and_commands_come_out(tmp_path: Path) -> None:
    CALLS.clear()
    clock = clock_at(10, 0)
    bus = InProcessBus()
    strategies = [configured(Echo, "echo", algo_name="ECHO-1"), configured(Watcher, "watch")]
    commands = Commands(bus, "test-commands")
    async with running(bus, clock, strategies, settings(tmp_path)) as (service, registry):
        assert service.ready() == (True, ())
        pub = bus.publisher()
        now = clock.now_ns()
        pub.publish(topics.ENRICHED.name, KEY, codecs.encode_enriched(enriched(now, 250_000)))
        cid = client_order_id("echo", DAY, 1)
        await until("the intent", lambda: commands.poll())
        key, intent = commands.seen[0]
        assert key == "echo"
        assert isinstance(intent, IntentMessage)
        assert (intent.intent.strategy, intent.sequence, intent.intent.price) == (
            "echo",
            1,
            250_000,
        )
        pub.publish(
            topics.CANDLES.name, KEY2, codecs.encode_candle(candle(9, 59, 1, 2, 1, 2, key=KEY2))
        )
        pub.publish(topics.SUGGESTIONS.name, KEY, codecs.encode_suggestion(suggestion(now, rank=4)))
        await until("the cancel", lambda: len(commands.poll()) == 2)
        assert commands.seen[1] == ("echo", CancelRequest("echo", cid, now))
        for event in (
            order_event(cid, S.OPEN, strategy="echo", ts=now, quantity=1),
            order_event("stranger-261207-1", S.OPEN, strategy="stranger", ts=now),
            order_event(
                cid, S.FILLED, strategy="echo", ts=now, quantity=1, filled=1, value=250_000
            ),
        ):
            _publish_order(bus, event)
        await until("the fill", lambda: "fill" in _names("echo"))
        assert CALLS["echo"][1:] == [
            ("enriched", KEY),
            ("suggestion", 4),
            ("order", (cid, S.OPEN)),
            ("order", (cid, S.FILLED)),
            ("fill", (cid, 1)),
        ]
        # (the order between two topics is not defined)
        assert sorted(CALLS["watch"]) == [("bar", KEY2), ("suggestion", 4)]
        assert service.host is not None
        assert service.host.context("echo").position(KEY).net_quantity == 1
        await until(
            "the metrics",
            lambda: sample(registry, "quant_strategy_fills_total", strategy="echo") == 1,
        )
        assert sample(registry, "quant_strategy_intents_total", strategy="echo") == 1
        assert sample(registry, "quant_strategy_cancels_total", strategy="echo") == 1
        assert sample(registry, "quant_strategy_running", strategy="watch") == 1
        assert sample(registry, "quant_strategy_published_total", kind="cancel") == 1
        assert (
            sample(registry, "quant_strategy_callback_latency_seconds_count", strategy="echo")
            == 6  # on_start + 5
        )
    commands.close()


async def test_a_strategy_that_raises_is_stopped_and_reported_the_others_go_on(
    tmp_path: Path,
) -> None:
    CALLS.clear()
    clock = clock_at(10, 0)
    bus = InProcessBus()
    strategies = [configured(Boom, "boom"), configured(Echo, "echo")]
    commands = Commands(bus, "test-commands")
    async with running(bus, clock, strategies, settings(tmp_path)) as (service, registry):
        pub = bus.publisher()
        for ltp in (250_000, 250_100):
            pub.publish(
                topics.ENRICHED.name, KEY, codecs.encode_enriched(enriched(clock.now_ns(), ltp))
            )
        await until("two intents of echo", lambda: len(commands.poll()) == 2)
        assert [c.sequence for _, c in commands.seen if isinstance(c, IntentMessage)] == [1, 2]
        await until("boom reported", lambda: not service.ready()[0])
        assert service.ready() == (
            False,
            ("strategy boom stopped: in on_enriched: RuntimeError: boom",),
        )
        await until(
            "the metrics", lambda: sample(registry, "quant_strategy_running", strategy="boom") == 0
        )
        assert sample(registry, "quant_strategy_errors_total", strategy="boom") == 1
        assert sample(registry, "quant_strategy_running", strategy="echo") == 1
        assert sample(registry, "quant_strategy_errors_total", strategy="echo") == 0
    commands.close()


async def test_the_days_orders_are_restored_from_the_journal_and_the_topic(tmp_path: Path) -> None:
    CALLS.clear()
    clock = clock_at(10, 0)
    bus = InProcessBus()
    store = SqliteRelationalStore().open()
    now = clock.now_ns()
    one, two = client_order_id("echo", DAY, 1), client_order_id("echo", DAY, 2)
    store.append_order_event(
        order_event(one, S.FILLED, strategy="echo", ts=now, quantity=3, filled=3, value=750_000)
    )
    _publish_order(
        bus,
        order_event(one, S.FILLED, strategy="echo", ts=now, quantity=3, filled=3, value=750_000),
    )
    _publish_order(
        bus,
        order_event(two, S.FILLED, strategy="echo", ts=now, quantity=2, filled=2, value=500_000),
    )
    yesterday = client_order_id("echo", DAY.replace(day=4), 7)
    _publish_order(
        bus,
        order_event(
            yesterday, S.FILLED, strategy="echo", ts=now - 3 * 86_400 * 10**9, filled=10, value=1
        ),
    )
    commands = Commands(bus, "test-commands")
    config = settings(tmp_path)
    async with running(bus, clock, [configured(Echo, "echo")], config, relational=store) as (
        service,
        _,
    ):
        assert service.host is not None
        assert (
            service.host.context("echo").position(KEY).net_quantity == 5
        )  # 3 + 2, not yesterday's
        assert "order" not in _names("echo")  # restored, not replayed as callbacks
        bus.publisher().publish(
            topics.ENRICHED.name, KEY, codecs.encode_enriched(enriched(now, 250_000))
        )
        await until("the intent", lambda: commands.poll())
        _, intent = commands.seen[0]
        assert isinstance(intent, IntentMessage)
        assert intent.sequence == 3  # the numbering goes on
    # the persistent state was saved at stop, and is loaded by the next start
    assert json.loads((config.state_dir / "echo.json").read_text()) == {"ticks": 1}
    async with running(bus, clock, [configured(Echo, "echo")], config, relational=store):
        assert CALLS["echo"][-1] == ("start", 1)
    commands.close()
    store.close()


async def test_the_strategies_get_the_instrument_master(tmp_path: Path) -> None:
    nifty = Instrument(
        "NSE_INDEX|Nifty 50", "NIFTY 50", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX
    )
    strategies = [configured(Watcher, "watch")]
    async with running(
        InProcessBus(), clock_at(10, 0), strategies, settings(tmp_path), instruments=[nifty]
    ) as (service, _):
        assert service.host is not None
        assert service.host.instruments.get("NSE_INDEX|Nifty 50") == nifty


async def test_an_undecodable_message_is_counted_and_skipped(tmp_path: Path) -> None:
    CALLS.clear()
    clock = clock_at(10, 0)
    bus = InProcessBus()
    async with running(bus, clock, [configured(Echo, "echo")], settings(tmp_path)) as (
        service,
        registry,
    ):
        pub = bus.publisher()
        pub.publish(topics.ENRICHED.name, KEY, b"\xff\xff not protobuf")
        pub.publish(topics.ENRICHED.name, KEY, codecs.encode_enriched(enriched(clock.now_ns(), 1)))
        await until("the good tick", lambda: "enriched" in _names("echo"))
        assert (
            sample(registry, "quant_strategy_bad_messages_total", topic=topics.ENRICHED.name) == 1
        )
        assert service.ready() == (True, ())
