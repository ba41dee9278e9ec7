"""The strategy runtime: a ``StrategyHost`` fed from the bus, its orders to the execution
service.

:class:`StrategyService` is the ``strategy`` service (built by
:func:`quant.strategy.main.build`, for ``quant strategy run`` and ``quant up``). Each run:

1. makes fresh strategy instances in a new host (the classes were loaded and the
   parameters validated once, at start);
2. restores the strategies' orders, positions and order numbering of the IST day
   (``StrategyHost.restore``): from the execution service's journal when the process has
   the relational store (``quant up``; ``QUANT_POSTGRES__DSN``), then from
   ``orders.events`` read from the beginning under a group of this run's own, up to its
   end. The same consumer then delivers the later events, so none is missed; an event
   seen twice changes nothing. A strategy's numbering continues where it stopped, so a
   new intent never takes the (strategy, day, sequence) of an order the execution service
   already made (it would be taken for a redelivery of that order);
3. loads each strategy's persistent state (``JsonFileStateStore``), calls its
   ``on_start`` and is ready;
4. then, one step at a time on a thread of its own (the host is single-threaded): polls
   the market topics (``market.enriched.ticks``, ``market.candles.1m`` or, with
   ``bars_from_ticks``, the raw ticks, ``scanner.suggestions``; and
   ``market.equity.ticks`` when a strategy overrides ``on_tick``) from the end of the
   log, takes the order events of its own strategies (by the client order id prefix of
   the message key, then ``OrderEvent.strategy``), lets time pass for the timers, and
   publishes what the strategies emitted on ``orders.intents`` (keyed by strategy id;
   an ``IntentMessage``, or a cancel request), flushed before the next step.

A strategy that raises is stopped by the host (its positions are left to the execution
service's rules, e.g. the MIS square-off); the service logs it, counts it
(``quant_strategy_errors_total``) and reports it in ``/readyz`` (not ready, naming the
strategy, the callback and the error) while the others go on. An undecodable message is
logged, counted (``quant_strategy_bad_messages_total{topic}``) and skipped.

On stop: ``on_stop`` of every strategy, its commands published and flushed, the states
saved. The persistent state is also saved every ``save_state_every_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from datetime import time as dtime
from typing import Any

from quant.bus import codecs, topics
from quant.bus.port import Consumer, Publisher, Received
from quant.core.clock import IST, datetime_to_ns, ns_to_datetime
from quant.core.orders import OrderEvent
from quant.core.symbols import InstrumentIndex
from quant.runtime.blocking import Lane, run_blocking
from quant.runtime.deps import Deps, load_instruments
from quant.runtime.service import Readiness
from quant.strategy.config import ConfiguredStrategy, algo_name_mapping
from quant.strategy.metrics import RuntimeMetrics
from quant.strategy.settings import StrategySettings
from quant.strategy.state_store import JsonFileStateStore
from quant.trading.client_ids import strategy_prefix
from quant.trading.strategy import CancelRequest, Emission, Strategy, StrategyHost
from quant.trading.strategy.stats import RunState

log = logging.getLogger(__name__)


def day_start_ns(now_ns: int) -> int:
    """00:00 IST of the day of ``now_ns``."""
    day = ns_to_datetime(now_ns, IST).date()
    return datetime_to_ns(datetime.combine(day, dtime(0, 0), tzinfo=IST))


class StrategyService:
    """The ``strategy`` service; see the module docstring."""

    name = "strategy"

    def __init__(
        self,
        settings: StrategySettings,
        deps: Deps,
        strategies: Sequence[ConfiguredStrategy],
        *,
        stopwatch: Callable[[], int] | None = time.perf_counter_ns,
    ) -> None:
        if not strategies:
            raise ValueError("the strategy service needs at least one strategy")
        self._settings = settings
        self._deps = deps
        self._strategies = list(strategies)
        self._stopwatch = stopwatch
        self.metrics = RuntimeMetrics(deps.registry)  # once: runs may restart
        self._prefixes = {strategy_prefix(c.entry.id).encode(): c.entry.id for c in strategies}
        self._modes = {c.entry.id: c.entry.mode for c in strategies}
        self._ticks = settings.bars_from_ticks or any(
            _overrides(c.cls, "on_tick") for c in strategies
        )
        self.host: StrategyHost | None = None
        self.started = False  # this run's strategies were started (ready, or some failed)
        self._phase = "not started"
        self._ready = False
        self._failed: dict[str, str] = {}
        self._mode_warned: set[str] = set()

    # --- readiness ----------------------------------------------------------------------------

    def ready(self) -> Readiness:
        if not self._ready:
            return False, (self._phase,)
        if self._failed:
            return False, tuple(
                f"strategy {sid} stopped: {why}" for sid, why in sorted(self._failed.items())
            )
        return True, ()

    def market_topics(self) -> list[str]:
        """The market topics this run reads."""
        names = [topics.ENRICHED.name, topics.SUGGESTIONS.name]
        if not self._settings.bars_from_ticks:
            names.append(topics.CANDLES.name)
        if self._ticks:
            names.append(topics.TICKS.name)
        return names

    def log_algo_names(self) -> None:
        """Say which algo name each strategy's orders must carry (the execution service maps
        strategy -> X-Algo-Name from its own QUANT_ALGO_NAMES)."""
        for c in self._strategies:
            e = c.entry
            log.info(
                "strategy %s: %s, %s mode, algo name %s, orders as %s-<yymmdd>-<n>",
                e.id,
                e.spec,
                e.mode,
                repr(e.algo_name) if e.algo_name else "(the execution service's default)",
                strategy_prefix(e.id),
            )
        mapping = algo_name_mapping([c.entry for c in self._strategies])
        if mapping:
            log.info(
                "the execution service must map these algo names: QUANT_ALGO_NAMES='%s' "
                "(live orders without one are rejected NO_ALGO_NAME)",
                json.dumps(mapping, sort_keys=True),
            )

    # --- the run ------------------------------------------------------------------------------

    def _new_host(self, instruments: InstrumentIndex | None = None) -> StrategyHost:
        s = self._settings
        host = StrategyHost(
            self._deps.clock,
            instruments=instruments,
            state_store=JsonFileStateStore(s.state_dir),
            stopwatch=self._stopwatch,
            minute_bars_from_ticks=s.bars_from_ticks,
            bar_close_delay_s=s.bar_close_delay_s,
        )
        for c in self._strategies:
            host.add(
                c.cls(),
                strategy_id=c.entry.id,
                params=c.params,
                algo_name=c.entry.algo_name,
            )
        return host

    async def run(self, stop: asyncio.Event) -> None:
        s, bus = self._settings, self._deps.bus
        self._ready = False
        self.started = False
        self._failed = {}
        self._phase = "creating the topics"
        await run_blocking(bus.ensure_topics, topics.ALL_TOPICS)
        run_id = uuid.uuid4().hex[:12]
        lane = Lane("strategy")
        consumers: list[Consumer] = []
        self._phase = "loading the instrument master"
        master = await load_instruments(self._deps, stop, "strategy runtime")
        if master is None:  # stopped first
            return
        publisher = bus.publisher()
        host = self._new_host(InstrumentIndex.build(master))
        self.host = host
        try:
            market = bus.consumer(
                f"{s.strategy_group}-market-{run_id}", self.market_topics(), from_end=True
            )
            consumers.append(market)
            orders = bus.consumer(f"{s.strategy_group}-orders-{run_id}", [topics.ORDERS.name])
            consumers.append(orders)
            self._phase = "restoring the strategies' orders of the day"
            restored = await lane.run(self._restore, host, orders)
            log.info(
                "restored %d order events of the day of %d strategies",
                restored,
                len(self._strategies),
            )
            self.log_algo_names()
            self._phase = "starting the strategies"
            await lane.run(self._start, host, publisher)
            self._ready = self.started = True
            log.info("strategy runtime ready: reading %s", ", ".join(self.market_topics()))
            step = _Stepper(self, host, market, orders, publisher)
            while not stop.is_set():
                await lane.run(step.step)
            self._ready = False
            self._phase = "stopping the strategies"
            await lane.run(self._stop, host, publisher)
        finally:
            self._ready = False
            for consumer in consumers:
                with contextlib.suppress(Exception):
                    consumer.close()
            lane.close()
            try:
                await run_blocking(publisher.close)
            except Exception as e:
                log.warning("closing the intent publisher failed: %s", e)
            self._phase = "stopped"

    # --- steps (on the lane's thread) ---------------------------------------------------------

    def _restore(self, host: StrategyHost, orders: Consumer) -> int:
        """Today's order events of our strategies: the journal's, then the topic's to its end."""
        start = day_start_ns(self._deps.clock.now_ns())
        events: list[OrderEvent] = []
        store = self._deps.relational
        if store is not None:
            events.extend(e for e in store.order_events_since(start) if e.strategy in self._modes)
        seen = False
        deadline = time.monotonic() + self._settings.restore_quiet_s
        while True:
            messages = orders.poll(1000, 0.2)
            if messages:
                seen = True
                events.extend(e for e in self._own_events(messages) if e.ts_init >= start)
                continue
            if seen or time.monotonic() >= deadline:
                break
        host.restore(events)
        return len(events)

    def _own_events(self, messages: Sequence[Received]) -> list[OrderEvent]:
        """The order events of this runtime's strategies (the key, a client order id, tells
        the strategy's prefix before anything is decoded)."""
        out = []
        prefixes = self._prefixes
        for msg in messages:
            key = msg.key()
            if not key or key.split(b"-", 1)[0] not in prefixes:
                continue
            try:
                event = codecs.decode_order(msg.value())
            except codecs.CodecError as e:
                self.metrics.bad_messages_total.labels(topics.ORDERS.name).inc()
                log.error("orders.events: skipped an undecodable event: %s", e)
                continue
            if event.strategy not in self._modes:
                continue
            mode = self._modes[event.strategy]
            if event.mode and event.mode != mode and event.strategy not in self._mode_warned:
                self._mode_warned.add(event.strategy)
                log.error(
                    "strategy %s is configured for %s mode but its order %s was made in %s "
                    "mode: check which execution service reads orders.intents",
                    event.strategy,
                    mode,
                    event.client_order_id,
                    event.mode,
                )
            out.append(event)
        return out

    def _start(self, host: StrategyHost, publisher: Publisher) -> None:
        host.start()
        self.publish(host.drain(), publisher)
        self.refresh(host)

    def _stop(self, host: StrategyHost, publisher: Publisher) -> None:
        host.stop()
        self.publish(host.drain(), publisher)
        self.refresh(host)

    def publish(self, emissions: Sequence[Emission], publisher: Publisher) -> None:
        """Each command on ``orders.intents`` (keyed by strategy id), then flushed."""
        if not emissions:
            return
        intents = cancels = 0
        for e in emissions:
            command = e.command
            if isinstance(command, CancelRequest):
                cancels += 1
                data = codecs.encode_cancel(command)
            else:
                intents += 1
                data = codecs.encode_intent(command)
            publisher.publish(topics.INTENTS.name, e.strategy_id, data)
        publisher.flush()
        if intents:
            self.metrics.published_total.labels("intent").inc(intents)
        if cancels:
            self.metrics.published_total.labels("cancel").inc(cancels)

    def refresh(self, host: StrategyHost) -> None:
        """Copy the host's status to the metrics; report strategies that failed since."""
        status = host.status()
        self.metrics.strategies.snapshot = status
        for s in status:
            if s.state is RunState.FAILED and s.strategy_id not in self._failed:
                failure = next(
                    (f for f in reversed(host.failures) if f.strategy_id == s.strategy_id), None
                )
                where = f" in {failure.callback}" if failure is not None else ""
                log.error(
                    "strategy %s was stopped: it raised%s: %s; its open orders and positions "
                    "are left to the execution service (MIS square-off, kill switch); the "
                    "other strategies go on",
                    s.strategy_id,
                    where,
                    s.last_error,
                )
                self._failed[s.strategy_id] = f"{where.strip() or 'a callback'}: {s.last_error}"


def _overrides(cls: type, name: str) -> bool:
    return getattr(cls, name, None) is not getattr(Strategy, name)


class _Stepper:
    """One poll-feed-publish step of a run (kept off the event loop, one at a time)."""

    def __init__(
        self,
        service: StrategyService,
        host: StrategyHost,
        market: Consumer,
        orders: Consumer,
        publisher: Publisher,
    ) -> None:
        self._service = service
        self._host = host
        self._market = market
        self._orders = orders
        self._publisher = publisher
        s = service._settings
        self._poll_s = s.poll_s
        self._batch = s.batch_size
        self._status_every = s.status_every_s
        self._save_every = s.save_state_every_s
        now = time.monotonic()
        self._next_status = now + self._status_every
        self._next_save = now + self._save_every
        self._failures = 0
        feeds: dict[str, tuple[Callable[[bytes], Any], Callable[[Any], None]]] = {
            topics.ENRICHED.name: (codecs.decode_enriched, host.on_enriched),
            topics.CANDLES.name: (codecs.decode_candle, host.on_candle),
            topics.SUGGESTIONS.name: (codecs.decode_suggestion, host.on_suggestion),
            topics.TICKS.name: (codecs.decode_tick, host.on_tick),
        }
        self._feeds = feeds
        self._bad = service.metrics.bad_messages_total

    def step(self) -> None:
        host, service = self._host, self._service
        order_messages = self._orders.poll(1000, 0)
        if order_messages:
            for event in service._own_events(order_messages):
                host.on_order_event(event)
        for msg in self._market.poll(self._batch, self._poll_s):
            name = msg.topic()
            decode, feed = self._feeds[name]
            try:
                feed(decode(msg.value()))
            except (codecs.CodecError, ValueError) as e:  # undecodable, or not a 1-minute candle
                self._bad.labels(name).inc()
                log.error("%s: skipped a message: %s", name, e)
        host.on_time()
        emissions = host.drain()
        if emissions:
            service.publish(emissions, self._publisher)
        now = time.monotonic()
        failures = len(host.failures)
        if now >= self._next_status or failures != self._failures:
            self._failures = failures
            service.refresh(host)
            self._next_status = now + self._status_every
        if now >= self._next_save:
            host.save_states()
            self._next_save = now + self._save_every
