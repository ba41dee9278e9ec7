"""Store ports: what services need from the tick store and the relational store.

Consumers: the feature engine and backfiller write ticks (with their features), greeks and
candles as typed column batches (``TickWriter.write``: a ``TickBatch``, ``GreeksBatch`` or
``CandleBatch`` of ``quant.store.tables``, built by ``quant.store.columns``); the gateway,
scanner and strategies read quotes and candles (``TickReader``); instrument sync, execution
and the gateway use the relational repositories. Adapters: ``QuestDBTickStore`` /
``SqliteTickStore`` and ``PostgresStore`` / ``SqliteRelationalStore``. All calls are
synchronous and thread-safe; asyncio callers use ``asyncio.to_thread``.

Semantics every adapter honours (``tests/integration/store`` contract suites):
* tick-store writes are idempotent upserts on ``(ts, instrument_key)`` (candles on
  ``(ts_start, instrument_key, interval_seconds)``), so replaying a batch writes nothing
  twice; ``wait_visible()`` returns once every accepted write is readable;
* ``upsert_instruments`` is one transaction: on failure the previous rows are intact;
  ``replace_instruments`` is one transaction too, from reading the live counts the
  guard judges to flagging expired rows: a guard that refuses (before writing or just
  before the commit) rolls all of it back;
* ``executed_orders`` is append-only (updates and deletes are refused by the database);
* ``users.role`` is viewer, trader or admin (the database refuses others); secrets are
  stored as argon2id hashes only (``quant.users``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import NamedTuple, Protocol, runtime_checkable

from quant.core.events import Candle, OptionGreeks, ScannerSuggestion
from quant.core.instruments import Instrument
from quant.core.orders import OrderEvent
from quant.store.tables import ColumnBatch

NS_PER_DAY = 86_400 * 1_000_000_000
IST_OFFSET_NS = 19_800 * 1_000_000_000  # +05:30: UTC ns + this, // a day = the IST day
EPOCH = date(1970, 1, 1)


class Quote(NamedTuple):
    """The latest stored tick of an instrument, with the best bid/ask (paise)."""

    instrument_key: str
    ts_event: int
    ts_init: int
    ltp: int
    ltq: int
    close_price: int
    volume: int
    atp: int
    oi: int
    bid_price: int
    bid_quantity: int
    ask_price: int
    ask_quantity: int
    total_buy_quantity: int
    total_sell_quantity: int


class TickWriter(Protocol):
    def write(self, batch: ColumnBatch) -> None:
        """Upsert ``batch`` into its table (``batch.TABLE``); an empty batch writes nothing.

        A ``TickBatch`` without ``features`` stores NULL feature columns (an upsert replaces
        the whole row, so the feature engine writes each tick once, with its features).
        """
        ...


class TickReader(Protocol):
    def latest_quote(self, instrument_key: str) -> Quote | None: ...
    def latest_greeks(self, instrument_key: str) -> OptionGreeks | None: ...
    def candles(
        self, instrument_key: str, start_ns: int, end_ns: int, interval_seconds: int = 60
    ) -> list[Candle]:
        """Candles with ``start_ns <= ts_start < end_ns``, oldest first."""
        ...

    def latest_suggestions(self, limit: int = 20) -> list[ScannerSuggestion]:
        """The newest scanner cycle's picks (every row with the greatest ``ts``), by rank,
        at most ``limit``; empty when the scanner has written none."""
        ...

    def suggestions_between(self, start_ns: int, end_ns: int) -> list[ScannerSuggestion]:
        """Every pick with ``start_ns <= ts_event < end_ns``, by cycle then rank."""
        ...

    def candle_days(
        self, instrument_key: str, interval_seconds: int, start_ns: int, end_ns: int
    ) -> dict[date, int]:
        """Number of stored candles per IST calendar day in [start_ns, end_ns)
        (days without a candle are absent): what a backfill already has."""
        ...


class TickStore(TickWriter, TickReader, Protocol):
    def wait_visible(self, timeout: float = 30.0) -> None:
        """Block until every accepted write is readable (QuestDB applies WAL async)."""
        ...

    def close(self) -> None: ...


class UpsertResult(NamedTuple):
    inserted: int
    updated: int
    unchanged: int


class ReplaceResult(NamedTuple):
    inserted: int
    updated: int
    unchanged: int
    expired: int


class ReplaceGuard(Protocol):
    """What the instrument sync checks inside the replacement transaction (raise to
    refuse: the transaction rolls back and the exception propagates unchanged)."""

    def before_write(self, live_counts: Mapping[str, int]) -> None:
        """Judge the stored live rows per segment (``live_segment_counts``) before writing."""
        ...

    def before_commit(self) -> None:
        """Last word before the commit (e.g. the sync's deadline has passed)."""
        ...

    def remaining_s(self) -> float | None:
        """Seconds left for the whole transaction (statements are cut off after), or None."""
        ...


class UserRecord(NamedTuple):
    """A platform user: ``secret_hash`` is the argon2id hash of the password ('' when none
    is set), never the password; ``role`` is viewer, trader or admin (the store refuses
    others); a ``disabled`` user's keys are refused."""

    username: str
    secret_hash: str
    role: str
    disabled: bool = False


class ApiKeyRecord(NamedTuple):
    """An API key ``qk_<key_id>_<secret>`` as stored: the id in clear (how a request's key
    is found without hashing every row), the argon2id hash of the secret."""

    key_id: str
    username: str
    secret_hash: str


class InstrumentRepository(Protocol):
    def upsert_instruments(self, instruments: Iterable[Instrument]) -> UpsertResult: ...
    def get_instrument(self, instrument_key: str) -> Instrument | None: ...
    def resolve_symbol(self, trading_symbol: str, segment: str | None = None) -> Instrument | None:
        """Case-insensitive; without ``segment`` NSE_EQ wins, then NSE_INDEX, NSE_FO, BSE..."""
        ...

    def search_instruments(self, query: str, limit: int = 20) -> list[Instrument]:
        """Exact symbol, then symbol prefix, then symbol or name containing ``query``."""
        ...

    def mark_expired(self, today: date) -> int:
        """Flag instruments whose expiry is before ``today``; returns how many were flagged."""
        ...

    def list_instruments(self) -> list[Instrument]:
        """Every instrument not flagged expired (the master the services load at start)."""
        ...

    def instruments_version(self) -> tuple[int, str]:
        """A cheap token that changes when :meth:`list_instruments` would (rows not expired,
        latest ``updated_at``): lets a reader reload the master only after a sync."""
        ...

    def live_segment_counts(self, today: date) -> dict[str, int]:
        """Rows per segment still live on ``today`` (not flagged expired, no expiry
        before ``today``): yesterday's master as the sync compares a new one with it."""
        ...

    def replace_instruments(
        self, instruments: Iterable[Instrument], *, today: date, guard: ReplaceGuard
    ) -> ReplaceResult:
        """In ONE transaction: ``guard.before_write(live_segment_counts(today))``, upsert
        ``instruments``, flag rows expired before ``today``, ``guard.before_commit()``,
        commit. Any exception (the guard's included) rolls everything back."""
        ...


class OrderAudit(Protocol):
    def append_order_event(self, event: OrderEvent) -> None: ...
    def append_order_events(self, events: Sequence[OrderEvent]) -> None:
        """Append ``events`` in ONE transaction (all or none), in order."""
        ...

    def list_order_events(
        self, limit: int = 50, client_order_id: str | None = None
    ) -> list[OrderEvent]:
        """Newest first."""
        ...

    def order_events_since(self, ts_init: int) -> list[OrderEvent]:
        """Every event recorded at or after ``ts_init`` (UTC ns), in the order appended."""
        ...


class UserRepository(Protocol):
    def save_user(self, user: UserRecord) -> None:
        """Insert or replace ``user`` (hash, role and disabled flag)."""
        ...

    def get_user(self, username: str) -> UserRecord | None: ...
    def list_users(self) -> list[UserRecord]:
        """Every user, by name."""
        ...

    def create_user(self, user: UserRecord, key: ApiKeyRecord | None = None) -> bool:
        """In ONE transaction: insert ``user`` and ``key`` unless the name is taken
        (then nothing is written and it returns False)."""
        ...

    def save_api_key(self, key: ApiKeyRecord) -> None:
        """Add a key of an existing user (:class:`StoreError` if there is no such user)."""
        ...

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...


class RelationalStore(InstrumentRepository, OrderAudit, UserRepository, Protocol):
    def close(self) -> None: ...


@runtime_checkable
class Pingable(Protocol):
    """A store on a server of its own (QuestDB, PostgreSQL), which can be asked if it
    answers; the runtime's dependency probes call it (an embedded store has no ping)."""

    @property
    def server_name(self) -> str:
        """The server's name for ``/readyz`` and the log ("QuestDB", "PostgreSQL")."""
        ...

    @property
    def is_open(self) -> bool: ...

    def open(self, timeout: float | None = None) -> object:
        """Connect (and create or migrate the schema); :class:`StoreError` if the server
        does not answer within ``timeout`` s. Until it has, every call raises StoreError."""
        ...

    def ping(self, timeout: float = 2.0) -> None:
        """Return when the server answers a trivial query within ``timeout`` s; raise
        :class:`StoreError` saying why not."""
        ...


class StoreError(Exception):
    """A store operation failed (connection, SQL, ingestion); chained to the driver error."""
