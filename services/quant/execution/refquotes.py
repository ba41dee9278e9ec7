"""Each instrument's REST quote, once per trading day: circuit limits and a first quote.

The feed's ticks carry no circuit limits, so the risk check's price band (``PRICE_BAND``)
needs the broker's full market quote (Upstox ``GET /v2/market-quote/quotes``, fields
``lower_circuit_limit`` / ``upper_circuit_limit``). ``DailyQuotes`` asks a ``QuoteSource``
for it the first time the engine meets an instrument on an IST trading day (an intent, or
a position or working order at recovery), in one request for all the instruments met
together, and hands each answer to the engine (``apply``): the circuit limits, and the
quote itself when the engine has no newer one from a tick (so an order for an instrument
no tick has come for yet is checked against that quote, aged by its own time).

It never holds an intent up for long: ``ensure`` waits at most ``wait_s`` (wall time) for
the answer; a slower request goes on in the background and its answer is applied when it
comes. A failed request is logged once (until one succeeds again), counted
(``quant_execution_quote_fetch_failures_total``) and retried no sooner than ``retry_s``
later (by the next intent for the instrument, or by ``retry_due`` from the engine's
timer); meanwhile the instrument's orders are checked without a price band (the broker and
the exchange still refuse a price outside it). An instrument the source has no quote for
is not asked about again that day.

An instrument no tick comes for (not in the market-data universe) would be left with a
quote that goes stale ``max_quote_age_s`` after it was fetched, and then every order for
it, the closing orders of a kill-switch flatten or the MIS square-off included, would be
refused ``NO_QUOTE``. So ``ensure(..., refresh=...)`` fetches the quote again for the
instruments the engine says are stale, at most once per ``REFRESH_NS`` each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import date

from quant.core.clock import NS_PER_SECOND, Clock
from quant.execution.ports import QuoteSource, ReferenceQuote
from quant.trading.risk import ist_date

log = logging.getLogger(__name__)

DEFAULT_WAIT_S = 1.0
DEFAULT_RETRY_S = 30.0
#: the least time between two fetches of one instrument's quote for freshness
REFRESH_NS = NS_PER_SECOND


class DailyQuotes:
    """Fetches each instrument's REST quote once per IST day; see the module docstring."""

    def __init__(
        self,
        source: QuoteSource,
        clock: Clock,
        apply: Callable[[ReferenceQuote], None],
        *,
        on_failure: Callable[[], None] = lambda: None,
        wait_s: float = DEFAULT_WAIT_S,
        retry_s: float = DEFAULT_RETRY_S,
    ) -> None:
        if wait_s < 0 or retry_s < 0:
            raise ValueError("wait_s and retry_s must be >= 0")
        self._source = source
        self._clock = clock
        self._apply = apply
        self._on_failure = on_failure
        self._wait_s = wait_s
        self._retry_ns = round(retry_s * NS_PER_SECOND)
        self._day: date | None = None
        self._done: set[str] = set()
        #: instrument -> not before (UTC ns), after a failed request
        self._retry_at: dict[str, int] = {}
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        #: instrument -> when its last request started (UTC ns), for the refresh interval
        self._asked_at: dict[str, int] = {}
        self._failing = False

    def fetched_today(self, instrument_key: str) -> bool:
        """Whether the instrument's quote was fetched (or found missing) today."""
        self._roll(self._clock.now_ns())
        return instrument_key in self._done

    def unchecked(self) -> list[str]:
        """Instruments whose request failed and waits for a retry (no price band yet)."""
        return sorted(self._retry_at)

    async def ensure(self, instrument_keys: Iterable[str], refresh: Iterable[str] = ()) -> None:
        """Fetch what today's quotes lack of ``instrument_keys``, and again those of
        ``refresh`` (stale) not asked for in the last ``REFRESH_NS``, in one request; wait
        for the answers (this one's or one already on its way) at most ``wait_s``."""
        now = self._clock.now_ns()
        again = [k for k in refresh if now - self._asked_at.get(k, now - REFRESH_NS) >= REFRESH_NS]
        keys = list(dict.fromkeys([*instrument_keys, *again]))
        self._start(keys, force=again)
        waiting = {self._in_flight[k] for k in keys if k in self._in_flight}
        if waiting:
            await asyncio.wait(waiting, timeout=self._wait_s)

    def retry_due(self) -> None:
        """Start the retries whose time has come (from the engine's timer; never waits)."""
        now = self._clock.now_ns()
        due = [k for k, t in self._retry_at.items() if t <= now]
        if due:
            self._start(due)

    def cancel(self) -> None:
        """Stop the requests in flight (the service is stopping)."""
        for task in set(self._in_flight.values()):
            task.cancel()

    def _roll(self, now: int) -> None:
        day = ist_date(now)
        if day != self._day:  # a new trading day: new circuit limits
            self._day = day
            self._done.clear()
            self._retry_at.clear()

    def _start(self, keys: Sequence[str], force: Sequence[str] = ()) -> None:
        now = self._clock.now_ns()
        self._roll(now)
        want = [
            k
            for k in keys
            if (k not in self._done or k in force)
            and k not in self._in_flight
            and self._retry_at.get(k, 0) <= now
        ]
        if not want:
            return
        for k in want:
            self._asked_at[k] = now
        task = asyncio.create_task(self._fetch(want, ist_date(now)), name="execution-quotes")
        for k in want:
            self._in_flight[k] = task

    async def _fetch(self, keys: list[str], day: date) -> None:
        try:
            got = await self._source.quotes(keys)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._failed(keys, e)
            return
        finally:
            for k in keys:
                self._in_flight.pop(k, None)
        if self._failing:
            self._failing = False
            log.info("REST quotes answer again: circuit limits are checked again")
        for k in keys:
            self._retry_at.pop(k, None)
            if day == self._day:
                self._done.add(k)
            quote = got.get(k)
            if quote is None:
                log.info("no REST quote for %s: its orders have no circuit-limit check today", k)
                continue
            try:
                self._apply(quote)
            except Exception:
                log.exception("applying the REST quote of %s failed", k)

    def _failed(self, keys: list[str], error: Exception) -> None:
        self._on_failure()
        retry = self._clock.now_ns() + self._retry_ns
        for k in keys:
            self._retry_at[k] = retry
        if self._failing:
            log.debug("REST quotes for %s failed again: %s", keys, error)
            return
        self._failing = True
        log.warning(
            "REST quotes for %d instrument(s) (%s) failed: %s; their orders are checked "
            "without circuit limits until a retry (every %.0f s) succeeds",
            len(keys),
            ", ".join(keys[:5]) + (" ..." if len(keys) > 5 else ""),
            error,
            self._retry_ns / NS_PER_SECOND,
        )
