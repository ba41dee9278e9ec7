"""The ingestor's run loop: feed sockets -> bounded queue -> bus, plus run-time subscriptions.

Built by the composition roots (``quant ingestor``, ``quant up``) with its adapters:
one :class:`FeedSocket` per websocket connection (at most the account's limit), a bus
``Publisher``, an optional ``Consumer`` on ``control.commands`` and an optional one on
``scanner.suggestions`` (one consumer may carry both). :meth:`Ingestor.run` runs in a
TaskGroup:

* one reader per socket puts decoded batches on a bounded ``asyncio.Queue``; when the
  publisher falls behind, ``put`` waits, the reader stops reading, and the socket's TCP
  window closes (backpressure to the websocket, nothing dropped);
* the publisher encodes each ``Tick`` to ``market.equity.ticks`` and each
  ``OptionGreeks`` to ``market.option.greeks``, keyed by instrument_key;
* the control loop turns subscription requests and scanner suggestions into
  :class:`~quant.upstox.subscriptions.SubscriptionBook` changes, sends them to the
  sockets, and logs (once per request) and counts what the book or the feed refused
  and why, then carries on. ``control.commands`` is compacted state keyed per
  instrument: the composition root reads it from the beginning on every start, the
  commands fold into :attr:`Ingestor.control_state` (latest per key), and of each
  polled batch only the latest command per key is applied (a REMOVE after an ADD in
  the same batch never subscribes), and reading the log again changes nothing; configured
  subscriptions (:meth:`Ingestor.subscribe`) skip instruments the control state
  removed;
* a 1 Hz task refreshes the feed-age gauges and judges the freshness of each
  connection by exchange time (:mod:`quant.ingestor.freshness`): during continuous
  trading a connection whose newest data is older than ``stale_after_s`` makes
  :meth:`Ingestor.stale_connections` (``/readyz``) say so, and one older than
  ``reconnect_after_s`` is reconnected through :meth:`FeedSocket.reconnect` (logged and
  counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Protocol

from quant.bus import codecs, topics
from quant.bus.port import Consumer, Publisher
from quant.core.calendar import NSE_CALENDAR, ExchangeCalendar
from quant.core.clock import NS_PER_SECOND, Clock
from quant.core.control import (
    ControlEvent,
    ControlState,
    KillSwitch,
    SubscriptionAction,
    SubscriptionRequest,
    latest_per_key,
)
from quant.core.events import FeedMode, OptionGreeks, ScannerSuggestion, Tick
from quant.core.freshness import trading_since
from quant.ingestor.freshness import (
    ConnectionFreshness,
    FreshnessSettings,
    Verdict,
    assess,
    describe,
)
from quant.ingestor.metrics import IngestorMetrics
from quant.runtime.blocking import run_blocking
from quant.upstox.errors import FeedSubscriptionLimitError
from quant.upstox.subscriptions import Change, Refusal, SubscriptionBook

log = logging.getLogger(__name__)

FeedEvent = Tick | OptionGreeks


class Reconnected:
    """Marker a socket yields after it reconnected (and replayed its subscriptions)."""


RECONNECTED = Reconnected()


class FeedSocket(Protocol):
    """One market-data websocket. The adapter owns reconnects and subscription replay."""

    async def send(self, method: str, keys: Sequence[str], mode: FeedMode | None) -> None:
        """Send ``sub`` / ``unsub`` / ``change_mode`` for ``keys``.

        Raises :class:`~quant.upstox.errors.FeedSubscriptionLimitError` (sending nothing)
        when the feed's limits refuse the request.
        """
        ...

    def batches(self) -> AsyncIterator[Sequence[FeedEvent] | Reconnected]:
        """Decoded events, one batch per frame; ``RECONNECTED`` after each reconnect."""
        ...

    @property
    def decode_errors(self) -> int:
        """Frames that failed to decode so far (exported as a counter)."""
        ...

    @property
    def rejected(self) -> Mapping[str, int]:
        """Ticks dropped by the value checks so far, by reason (exported as a counter)."""
        ...

    async def reconnect(self, reason: str) -> bool:
        """Drop the connection and connect afresh (subscriptions replayed); False if
        there is no connection to drop right now."""
        ...


class Ingestor:
    """Holds the feed, publishes events, and changes subscriptions at run time."""

    def __init__(
        self,
        *,
        sockets: Sequence[FeedSocket],
        book: SubscriptionBook,
        publisher: Publisher,
        metrics: IngestorMetrics,
        clock: Clock,
        control: Consumer | None = None,
        suggestions: Consumer | None = None,
        queue_size: int = 1024,
        freshness: FreshnessSettings | None = None,
        calendar: ExchangeCalendar = NSE_CALENDAR,
    ) -> None:
        if len(sockets) != book.connections:
            raise ValueError(f"{len(sockets)} sockets for a book of {book.connections}")
        self._sockets = sockets
        self._book = book
        self._publisher = publisher
        self._metrics = metrics
        self._clock = clock
        self._control = control
        self._suggestions = suggestions
        self.control_state = ControlState()
        """The current control state, rebuilt from ``control.commands``."""
        self._queue: asyncio.Queue[Sequence[FeedEvent]] = asyncio.Queue(maxsize=queue_size)
        self._last_seen: dict[str, FeedEvent] = {}
        self._freshness = freshness or FreshnessSettings()
        self._calendar = calendar
        start = clock.now_ns()
        self._fresh = [ConnectionFreshness(expected_since_ns=start) for _ in sockets]
        self._in_use = [False] * len(sockets)  # has subscriptions (may deliver data)
        self.refusals: deque[Refusal] = deque(maxlen=1000)
        self.published = 0

    @property
    def book(self) -> SubscriptionBook:
        return self._book

    async def run(self) -> None:
        """Run until cancelled; on the way out, flush what was handed to the bus."""
        try:
            async with asyncio.TaskGroup() as tg:
                for i, sock in enumerate(self._sockets):
                    tg.create_task(self._read(i, sock), name=f"ingestor-read-{i}")
                tg.create_task(self._publish_loop(), name="ingestor-publish")
                tg.create_task(self._age_loop(), name="ingestor-feed-age")
                if self._control is not None:
                    # a control consumer of its own is re-read from the start every run:
                    # nothing to commit (one that carries suggestions too commits them)
                    commit = self._suggestions is None
                    tg.create_task(
                        self._control_loop(self._control, commit=commit), name="ingestor-control"
                    )
                if self._suggestions is not None:
                    tg.create_task(
                        self._control_loop(self._suggestions), name="ingestor-suggestions"
                    )
        finally:
            self._drain()
            await run_blocking(self._publisher.flush)

    # -- subscriptions -------------------------------------------------------------
    async def subscribe(self, keys: Sequence[str], mode: FeedMode) -> Change:
        """Subscribe configured instruments, except those ``control.commands`` removed."""
        removed = self.control_state.removed()
        if removed:
            keys = [k for k in keys if k not in removed]
        return await self._send(self._book.subscribe(keys, mode))

    async def apply(self, request: SubscriptionRequest) -> Change:
        """Apply one control-topic request: the instruments' desired state.

        ADD and CHANGE_MODE both mean "subscribed in this mode" (on the compacted topic
        the ADD before a CHANGE_MODE may be gone); REMOVE means not subscribed.
        """
        if request.action is SubscriptionAction.REMOVE:
            change = self._book.unsubscribe(request.instrument_keys)
        else:
            change = self._book.subscribe(request.instrument_keys, request.mode)
        return await self._send(change, requested_by=request.requested_by)

    async def _send(self, change: Change, requested_by: str = "config") -> Change:
        """Send ``change`` to the sockets; record, count and log (once) what was refused.

        A request the feed refuses (:class:`FeedSubscriptionLimitError`) is taken back out
        of the book and out of ``change``, and joins ``change.refused``: one request over
        the limit must not stop the ingestor.
        """
        for method, requests in (("sub", change.subscribe), ("change_mode", change.change_mode)):
            for sock, by_mode in requests.items():
                for mode, keys in list(by_mode.items()):
                    try:
                        await self._sockets[sock].send(method, keys, mode)
                    except FeedSubscriptionLimitError as e:
                        self._book.revert(change, keys)
                        del by_mode[mode]
                        change.refused.extend(Refusal(k, mode, str(e), "venue") for k in keys)
            for sock in [s for s, by_mode in requests.items() if not by_mode]:
                del requests[sock]
        for sock, keys in change.unsubscribe.items():
            await self._sockets[sock].send("unsub", keys, None)
            for key in keys:
                self._last_seen.pop(key, None)
                with contextlib.suppress(KeyError):  # no gauge yet for a key never seen
                    self._metrics.feed_age.remove(key)
                with contextlib.suppress(KeyError):
                    self._metrics.instrument_lag.remove(key)
        for refusal in change.refused:
            self.refusals.append(refusal)
            self._metrics.refused.labels(refusal.mode.wire_name, refusal.kind).inc()
        if change.refused:
            log.warning(
                "refused %d subscription(s) requested by %s, e.g. %s: %s",
                len(change.refused),
                requested_by,
                change.refused[0].instrument_key,
                change.refused[0].reason,
            )
        for mode in FeedMode:
            self._metrics.subscribed.labels(mode.wire_name).set(self._book.counts().get(mode, 0))
        self._in_use = [bool(self._book.on_socket(i)) for i in range(len(self._sockets))]
        return change

    # -- tasks ---------------------------------------------------------------------
    async def _read(self, index: int, sock: FeedSocket) -> None:
        fresh = self._fresh[index]
        frame_lag = self._metrics.frame_lag.labels(str(index))
        async for batch in sock.batches():
            if isinstance(batch, Reconnected):
                self._metrics.reconnects.labels(str(index)).inc()
                continue
            if batch:
                last = batch[-1]  # one frame: the same exchange and receive times
                lag = fresh.observe(last.ts_event, last.ts_init)
                frame_lag.observe(max(lag, 0) / NS_PER_SECOND)
                await self._queue.put(batch)
                self._metrics.queue_depth.set(self._queue.qsize())

    async def _publish_loop(self) -> None:
        while True:
            batch = await self._queue.get()
            self._publish(batch)

    def _drain(self) -> None:
        while not self._queue.empty():
            self._publish(self._queue.get_nowait())

    def _publish(self, batch: Sequence[FeedEvent]) -> None:
        publish = self._publisher.publish
        ticks_topic, greeks_topic = topics.TICKS.name, topics.GREEKS.name
        seen = self._last_seen
        # a frame's ticks encoded in one call (native when quant_wire is installed)
        encoded = iter(self._encode_ticks([e for e in batch if isinstance(e, Tick)]))
        dropped = 0
        for event in batch:
            if isinstance(event, Tick):
                value = next(encoded)
                if value is None:
                    dropped += 1
                    continue
                publish(ticks_topic, event.instrument_key, value)
                self._metrics.ticks.labels(event.mode.wire_name).inc()
            else:
                publish(greeks_topic, event.instrument_key, codecs.encode_greeks(event))
                self._metrics.greeks.inc()
            seen[event.instrument_key] = event
        self.published += len(batch) - dropped
        now = self._clock.now_ns()
        self._metrics.publish_latency.observe((now - batch[-1].ts_init) / NS_PER_SECOND)

    def _encode_ticks(self, ticks: list[Tick]) -> list[bytes | None]:
        """The ticks as bus messages; ``None`` for one the bus cannot carry (a value past
        int64: the decoders' checks keep those out, this is the last line), counted as
        ``quant_feed_rejected_ticks_total{reason="unencodable"}`` and logged."""
        try:
            return list(codecs.encode_ticks(ticks))
        except (ValueError, TypeError, OverflowError):
            pass
        out: list[bytes | None] = []
        for tick in ticks:
            try:
                out.append(codecs.encode_tick(tick))
            except (ValueError, TypeError, OverflowError) as e:
                out.append(None)
                self._metrics.rejected.labels("unencodable").inc()
                log.warning("tick of %s not published: %s", tick.instrument_key[:64], e)
        return out

    async def _age_loop(self) -> None:
        decode_errors = [0] * len(self._sockets)
        rejected: list[dict[str, int]] = [{} for _ in self._sockets]
        metrics = self._metrics
        while True:
            now = self._clock.now_ns()
            stale_after = self._freshness.stale_after_ns
            stale = 0
            for key, event in self._last_seen.items():
                metrics.feed_age.labels(key).set((now - event.ts_init) / NS_PER_SECOND)
                lag = event.ts_init - event.ts_event
                metrics.instrument_lag.labels(key).set(lag / NS_PER_SECOND)
                if now - event.ts_event > stale_after:
                    stale += 1
            metrics.stale_instruments.set(stale)
            await self._check_connections(now)
            for i, sock in enumerate(self._sockets):
                seen = sock.decode_errors
                if seen > decode_errors[i]:
                    self._metrics.decode_errors.inc(seen - decode_errors[i])
                    decode_errors[i] = seen
                for reason, total in list(sock.rejected.items()):
                    if total > rejected[i].get(reason, 0):
                        self._metrics.rejected.labels(reason).inc(
                            total - rejected[i].get(reason, 0)
                        )
                        rejected[i][reason] = total
            await asyncio.sleep(1.0)

    # -- freshness -----------------------------------------------------------------
    def _trading_since(self, now_ns: int) -> int | None:
        check = self._freshness.check
        if check == "always":
            return 0  # as if trading since the epoch
        return None if check == "off" else trading_since(self._calendar, now_ns)

    def _verdicts(self, now_ns: int) -> list[Verdict]:
        since = self._trading_since(now_ns)
        return [
            assess(
                fresh,
                now_ns,
                trading_since_ns=since,
                subscribed=in_use,
                settings=self._freshness,
            )
            for fresh, in_use in zip(self._fresh, self._in_use, strict=True)
        ]

    def stale_connections(self) -> list[str]:
        """One reason per connection whose data is too old now (empty: all fresh).

        Safe to call from another thread (the health server's): it only reads.
        """
        verdicts = self._verdicts(self._clock.now_ns())
        return [describe(i, v, self._freshness) for i, v in enumerate(verdicts) if v.stale]

    async def _check_connections(self, now_ns: int) -> None:
        """Export each connection's freshness; reconnect those past the second threshold."""
        metrics = self._metrics
        metrics.market_open.set(0 if trading_since(self._calendar, now_ns) is None else 1)
        for i, verdict in enumerate(self._verdicts(now_ns)):
            fresh = self._fresh[i]
            metrics.connection_age.labels(str(i)).set(verdict.age_s)
            metrics.connection_lag.labels(str(i)).set(fresh.last_lag_ns / NS_PER_SECOND)
            if verdict.reconnect:
                await self.reconnect_stale(i, verdict, now_ns)

    async def reconnect_stale(self, index: int, verdict: Verdict, now_ns: int) -> None:
        """Reconnect socket ``index`` because its data is ``verdict.age_s`` old; logged
        and counted in ``ingestor_stale_reconnects_total{socket}``."""
        self._fresh[index].reconnect_requested_ns = now_ns
        reason = describe(index, verdict, self._freshness)
        dropped = await self._sockets[index].reconnect(reason)
        if dropped:
            self._metrics.stale_reconnects.labels(str(index)).inc()
            log.warning("reconnecting stale %s", reason)
        else:
            log.warning("stale %s; not connected right now (already reconnecting)", reason)

    async def _control_loop(self, consumer: Consumer, *, commit: bool = True) -> None:
        while True:
            messages = await run_blocking(consumer.poll, 1000, 0.5)
            commands: list[ControlEvent] = []
            for msg in messages:
                value = msg.value()
                if not isinstance(value, bytes):
                    continue
                command = await self._handle_control(msg.topic(), value)
                if command is not None:
                    commands.append(command)
            # the batch's latest command per key only: an ADD a later REMOVE overrides
            # (a backlog read at start) never reaches the feed
            for request in _grouped(latest_per_key(commands)):
                await self.apply(request)
            if messages and commit:
                await run_blocking(consumer.commit)

    async def _handle_control(self, topic: str | None, value: bytes) -> ControlEvent | None:
        """Apply a suggestion at once; fold a control command into the control state and
        return it (applied by the caller, latest per key)."""
        try:
            if topic == topics.SUGGESTIONS.name:
                suggestion: ScannerSuggestion = codecs.decode_suggestion(value)
                await self._send(
                    self._book.subscribe([suggestion.instrument_key], suggestion.feed_mode),
                    requested_by="scanner",
                )
                return None
            event = codecs.decode_control(value)
        except codecs.CodecError:
            log.exception("undecodable message on %s; skipped", topic)
            return None
        self.control_state.apply(event)
        if isinstance(event, KillSwitch):
            return None  # not the ingestor's business: execution acts on it
        return event


def _grouped(commands: Sequence[ControlEvent]) -> list[SubscriptionRequest]:
    """Per-instrument requests merged back into one per (action, mode, requester),
    removals first (they free capacity): a rebuilt state goes out in a few frames."""
    groups: dict[tuple[bool, SubscriptionAction, FeedMode, str], list[str]] = {}
    firsts: dict[tuple[bool, SubscriptionAction, FeedMode, str], SubscriptionRequest] = {}
    for c in commands:
        if not isinstance(c, SubscriptionRequest):
            continue
        removal = c.action is SubscriptionAction.REMOVE
        key = (not removal, c.action, c.mode, c.requested_by)
        groups.setdefault(key, []).extend(c.instrument_keys)
        firsts.setdefault(key, c)
    return [
        firsts[k]._replace(instrument_keys=tuple(groups[k]))
        for k in sorted(groups, key=lambda k: k[0])  # stable: removals (False) first
    ]
