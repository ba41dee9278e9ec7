"""The paper broker's matching: fills simulated from the live order book, never from LTP alone.

``PaperMatcher`` holds the working paper orders and the last ``BookSnapshot`` of each
instrument. It is pure: no I/O, no clock (every call takes ``now_ns`` from the caller's
injected clock), deterministic for a given seed. The execution service's paper broker
feeds it orders (``submit``/``cancel``), books (``on_book``) and the passing of time
(``on_time``), and applies the ``OrderUpdate``s it returns: each is one state change of one
order through the ``Order`` state machine (``quant.trading.order``), with its ``Fill`` when
it is an execution. The rules, precisely:

Acceptance and latency
    ``submit`` acknowledges a PENDING_NEW order at once (OPEN, or TRIGGER_PENDING for SL
    and SL-M; broker id ``PAPER-<n>``). The order becomes *eligible* to trigger or fill only
    ``latency_ns`` (plus a jitter drawn uniformly from ``[0, jitter_ns]`` by a
    ``random.Random(seed)``, so runs repeat) after submission; an order is matched on the
    first book processed at or after that instant (``on_book``, or ``on_time`` against the
    last book). Cancels and modifications take effect at once (the paper broker is kinder
    than the exchange here: a real cancel can lose the race to a fill); a modified order
    keeps its eligibility and is matched again at once.

Stale-quote guard
    A book whose exchange time is more than ``stale_after_ns`` before ``now``
    (``quant.core.freshness.age_ns``) fills and triggers nothing; the orders wait for a fresh
    one (an IOC too: it is decided on the first fresh book). Each such refusal is counted in
    ``stale_skips``. A snapshot older than the one already held is ignored
    (``out_of_order_books``).

MARKET (and a triggered SL-M)
    Walks the opposite side (asks for a BUY, bids for a SELL) best level first, filling at
    each level's price up to the quantity left at that level. If the book is too thin, a DAY
    order keeps the remainder working (PARTIALLY_FILLED) and walks the next books; an IOC
    order's remainder is cancelled. An empty opposite side (e.g. an LTP-only feed) fills
    nothing.

LIMIT (and a triggered SL)
    A BUY at limit ``L`` fills against every ask level priced ``<= L`` (at the level's
    price: marketable limits get the book's price), a SELL against bid levels ``>= L``. What
    the book leaves unfilled also fills, at ``L``, against a *trade print*: a new trade
    (``last_trade_ts`` later than any seen since the order became eligible or triggered)
    at ``ltp <= L`` for a BUY (``>= L`` for a SELL), up to the trade's quantity. A BUY never
    fills above its limit, a SELL never below. IOC: whatever is not filled on the first
    eligible fresh book is cancelled.

SL and SL-M
    Wait TRIGGER_PENDING until an eligible fresh book's LTP reaches the trigger (a BUY when
    ``ltp >= trigger``, a SELL when ``ltp <= trigger``); they then become OPEN (SL as LIMIT at
    its price, SL-M as MARKET) and match the same book. Trades up to and including the one
    that triggered them are not theirs to fill against. An IOC stop is decided on the book
    that triggers it.

Event time (``event_time``, off by default)
    Latency and staleness are counted on the market's time instead of on arrival: a book
    is taken at its own exchange time, an order submitted with ``decided_ns`` (when the
    strategy decided) becomes eligible ``latency`` after that, and is matched against the
    book held at that instant, taken from the last ``HISTORY`` books of its instrument when
    newer ones came in before the order did; an order that becomes eligible before a new
    book is matched against the old one first, at its eligible time. This is how a
    backtest's simulated clock sees it, so a paper run fills as a backtest over its
    recorded ticks does, however late its orders and ticks reach the service.

Liquidity
    Within one snapshot the displayed quantity at each level, and the quantity of the new
    trade, are shared by all paper orders (first submitted, first served), so the paper
    fills against one snapshot never exceed what it shows. Each new snapshot is taken as
    the market's current state: our own paper fills do not deplete it (we never really
    traded). Priority among our own orders is submission order, not price.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from quant.core.clock import NS_PER_MS
from quant.core.freshness import age_ns
from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading.book import BookLevel, BookSnapshot
from quant.trading.errors import TradingError
from quant.trading.intent import Amendment, Validity
from quant.trading.order import Fill, Order

DEFAULT_STALE_AFTER_NS = 2_000 * NS_PER_MS
#: books kept per instrument with ``event_time`` (for orders that arrive after newer books)
HISTORY = 64
IOC_REMAINDER = "IOC: the unfilled remainder was cancelled"


class PaperError(TradingError):
    """The paper matcher was asked something it cannot do (a duplicate or a non-new order)."""


class Liquidity(StrEnum):
    """What a paper fill executed against: a book level, or a trade print at the limit."""

    BOOK = "book"
    TRADE = "trade"


@dataclass(frozen=True, slots=True)
class PaperConfig:
    """Latency (ns, with optional seeded jitter), the stale-quote threshold (ns), and
    whether both count on event time (module docstring)."""

    latency_ns: int = 0
    jitter_ns: int = 0
    seed: int = 0
    stale_after_ns: int = DEFAULT_STALE_AFTER_NS
    event_time: bool = False

    def __post_init__(self) -> None:
        for name in ("latency_ns", "jitter_ns", "stale_after_ns"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"paper {name} must be a whole number of ns >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One state change of one paper order; ``fill`` (and ``liquidity``) when it executed."""

    order: Order
    fill: Fill | None = None
    liquidity: Liquidity | None = None


@dataclass(slots=True)
class _Working:
    order: Order
    eligible_ns: int
    #: exchange time of the last trade this order has seen; None until it is active
    trade_mark: int | None = None


@dataclass(slots=True)
class _Market:
    book: BookSnapshot
    bids_left: list[int] = field(default_factory=list)
    asks_left: list[int] = field(default_factory=list)
    trade_left: int = 0

    @classmethod
    def of(cls, book: BookSnapshot) -> _Market:
        return cls(
            book,
            [lv.quantity for lv in book.bids],
            [lv.quantity for lv in book.asks],
            book.last_trade_qty,
        )


def _limit_allows(side: Side, limit: int, price: int) -> bool:
    return price <= limit if side is Side.BUY else price >= limit


def _triggered(side: Side, trigger: int, ltp: int) -> bool:
    return ltp > 0 and (ltp >= trigger if side is Side.BUY else ltp <= trigger)


class PaperMatcher:
    """Working paper orders matched against live books; see the module docstring."""

    def __init__(self, config: PaperConfig | None = None) -> None:
        self.config = config or PaperConfig()
        self._rng = random.Random(self.config.seed)  # simulated latency, not crypto
        self._working: dict[str, _Working] = {}
        #: working orders per instrument, in submission order (a book touches only its own)
        self._by_instrument: dict[str, dict[str, _Working]] = {}
        self._markets: dict[str, _Market] = {}
        #: the last books per instrument, oldest first (``event_time`` only)
        self._history: dict[str, deque[BookSnapshot]] = {}
        self._sequence = 0
        self.stale_skips = 0
        self.out_of_order_books = 0

    # --- views ------------------------------------------------------------------------------

    def working(self) -> Iterator[Order]:
        """The working paper orders (acknowledged, not filled, cancelled or rejected)."""
        return (w.order for w in self._working.values())

    def get(self, client_order_id: str) -> Order | None:
        """The working order with this client order id, or ``None``."""
        w = self._working.get(client_order_id)
        return w.order if w else None

    def has_working(self, instrument_key: str) -> bool:
        """Whether an order of this instrument is working (a new book can fill it)."""
        return instrument_key in self._by_instrument

    def next_eligible_ns(self, after_ns: int) -> int | None:
        """When the next working order becomes eligible after ``after_ns`` (its latency
        elapses), or None: a simulated clock steps there."""
        later = [w.eligible_ns for w in self._working.values() if w.eligible_ns > after_ns]
        return min(later, default=None)

    def book(self, instrument_key: str) -> BookSnapshot | None:
        """The last book held for an instrument."""
        m = self._markets.get(instrument_key)
        return m.book if m else None

    # --- commands -----------------------------------------------------------------------------

    def submit(self, order: Order, now_ns: int, decided_ns: int = 0) -> list[OrderUpdate]:
        """Acknowledge a PENDING_NEW order, and match it now if it is already eligible
        (``decided_ns``: when its strategy decided, for ``event_time``; 0 unknown)."""
        cid = order.client_order_id
        if order.status is not OrderStatus.PENDING_NEW:
            raise PaperError(f"order {cid} is {order.status.name}; only a new order can be sent")
        if cid in self._working:
            raise PaperError(f"order {cid} was already sent to the paper broker")
        self._sequence += 1
        jitter = self._rng.randint(0, self.config.jitter_ns) if self.config.jitter_ns else 0
        accepted = order.accepted(f"PAPER-{self._sequence}", now_ns)
        event_time = self.config.event_time and decided_ns > 0
        start = decided_ns if event_time else now_ns
        w = _Working(accepted, start + self.config.latency_ns + jitter)
        self._working[cid] = w
        self._by_instrument.setdefault(order.intent.instrument_key, {})[cid] = w
        if event_time:
            return [OrderUpdate(accepted), *self._catch_up(w, decided_ns)]
        return [OrderUpdate(accepted), *self._match(order.intent.instrument_key, now_ns)]

    def cancel(
        self, client_order_id: str, now_ns: int, reason: str = "cancelled on request"
    ) -> OrderUpdate | None:
        """Cancel a working order; ``None`` if none is working under that id (filled, gone)."""
        w = self._working.get(client_order_id)
        if w is None:
            return None
        self._forget(w)
        return OrderUpdate(w.order.cancelled(now_ns, reason))

    def modify(
        self, client_order_id: str, amendment: Amendment, now_ns: int
    ) -> list[OrderUpdate] | None:
        """Apply a modification at once and match the amended order if it is eligible.

        ``None`` if no order is working under that id; ``InvalidIntent`` (nothing changed) if
        the amendment is not valid for the order, e.g. a quantity not above what has filled.
        """
        w = self._working.get(client_order_id)
        if w is None:
            return None
        w.order = w.order.modify_requested(amendment, now_ns).modified(now_ns)
        return [OrderUpdate(w.order), *self._match(w.order.intent.instrument_key, now_ns)]

    def on_book(self, book: BookSnapshot, now_ns: int) -> list[OrderUpdate]:
        """Take a new book for its instrument and match the eligible orders against it."""
        key = book.instrument_key
        held = self._markets.get(key)
        if held is not None and book.ts_event < held.book.ts_event:
            self.out_of_order_books += 1
            return []
        if not self.config.event_time:
            self._markets[key] = _Market.of(book)
            return self._match(key, now_ns)
        # event time: what fell due before this book is matched against the one held first
        updates = self._match_due(key, book.ts_event - 1)
        self._markets[key] = _Market.of(book)
        self._history.setdefault(key, deque(maxlen=HISTORY)).append(book)
        return [*updates, *self._match(key, book.ts_event)]

    def on_time(self, now_ns: int) -> list[OrderUpdate]:
        """Match orders that became eligible since the last book against the books held."""
        keys = sorted(self._by_instrument)
        if self.config.event_time:
            return [u for key in keys for u in self._match_due(key, now_ns)]
        return [u for key in keys for u in self._match(key, now_ns)]

    # --- matching -----------------------------------------------------------------------------

    def _match_due(self, key: str, until_ns: int) -> list[OrderUpdate]:
        """Event time: each order of ``key`` that became eligible between the held book's
        time and ``until_ns`` matched against that book at its eligible time."""
        market = self._markets.get(key)
        working = self._by_instrument.get(key)
        if market is None or not working:
            return []
        since = market.book.ts_event
        due = sorted(
            {w.eligible_ns for w in working.values() if since <= w.eligible_ns <= until_ns}
        )
        return [u for t in due for u in self._match(key, t)]

    def _catch_up(self, w: _Working, decided_ns: int) -> list[OrderUpdate]:
        """Event time: match a new order as of its eligible time against the books of its
        instrument from then on (kept in the history), up to the book held now."""
        key = w.order.intent.instrument_key
        market = self._markets.get(key)
        if market is None:
            return []
        at = w.eligible_ns
        if market.book.ts_event <= at:  # nothing newer: it is matched when its time comes
            return self._match(key, at) if at <= decided_ns else []
        books = list(self._history.get(key, ()))
        first = max((i for i, b in enumerate(books) if b.ts_event <= at), default=0)
        updates: list[OrderUpdate] = []
        for book in books[first:-1]:  # the older books, each a market of its own
            now = max(book.ts_event, at)
            if age_ns(book.ts_event, now) > self.config.stale_after_ns:
                self.stale_skips += 1
                continue
            updates.extend(self._match_one(w, _Market.of(book), now))
            if w.order.is_terminal:
                self._forget(w)
                return updates
        return [*updates, *self._match(key, market.book.ts_event)]

    def _match(self, instrument_key: str, now_ns: int) -> list[OrderUpdate]:
        market = self._markets.get(instrument_key)
        if market is None:
            return []
        working = self._by_instrument.get(instrument_key, {})
        eligible = [w for w in working.values() if w.eligible_ns <= now_ns]
        if not eligible:
            return []
        if age_ns(market.book.ts_event, now_ns) > self.config.stale_after_ns:
            self.stale_skips += 1
            return []
        updates: list[OrderUpdate] = []
        for w in eligible:
            updates.extend(self._match_one(w, market, now_ns))
            if w.order.is_terminal:
                self._forget(w)
        return updates

    def _forget(self, w: _Working) -> None:
        cid, key = w.order.client_order_id, w.order.intent.instrument_key
        del self._working[cid]
        same = self._by_instrument[key]
        del same[cid]
        if not same:
            del self._by_instrument[key]

    def _match_one(self, w: _Working, market: _Market, now: int) -> list[OrderUpdate]:
        book, intent = market.book, w.order.intent
        updates: list[OrderUpdate] = []
        if intent.is_stop and not w.order.triggered:
            if not _triggered(intent.side, intent.trigger_price, book.ltp):
                return updates
            w.order = w.order.triggered_at(now)
            w.trade_mark = book.last_trade_ts
            updates.append(OrderUpdate(w.order))
        if w.trade_mark is None:
            w.trade_mark = book.last_trade_ts
        new_trade = book.last_trade_ts > w.trade_mark
        w.trade_mark = max(w.trade_mark, book.last_trade_ts)

        is_market = intent.order_type in (OrderType.MARKET, OrderType.SL_M)
        levels, left = (
            (book.asks, market.asks_left)
            if intent.side is Side.BUY
            else (book.bids, market.bids_left)
        )
        for idx, level in enumerate(levels):
            if w.order.remaining_quantity == 0:
                break
            if not is_market and not _limit_allows(intent.side, intent.price, level.price):
                break
            updates.extend(self._take(w, level, left, idx, now))
        if (
            not is_market
            and new_trade
            and w.order.remaining_quantity
            and market.trade_left
            and _limit_allows(intent.side, intent.price, book.ltp)
        ):
            qty = min(market.trade_left, w.order.remaining_quantity)
            market.trade_left -= qty
            w.order, fill = w.order.fill(qty, intent.price, now)
            updates.append(OrderUpdate(w.order, fill, Liquidity.TRADE))
        if intent.validity is Validity.IOC and not w.order.is_terminal:
            w.order = w.order.cancelled(now, IOC_REMAINDER)
            updates.append(OrderUpdate(w.order))
        return updates

    @staticmethod
    def _take(
        w: _Working, level: BookLevel, left: list[int], idx: int, now: int
    ) -> list[OrderUpdate]:
        qty = min(left[idx], w.order.remaining_quantity)
        if qty <= 0:
            return []
        left[idx] -= qty
        w.order, fill = w.order.fill(qty, level.price, now)
        return [OrderUpdate(w.order, fill, Liquidity.BOOK)]
