"""The gateway's ports: what its routers read, owned here as small protocols.

Routers never touch SQL or the bus: they call a :class:`MarketReadModel` (latest tick,
enriched tick and greeks per instrument, fed by the bus or the tick store) and an
:class:`InstrumentLookup` (symbol resolution and search over the instrument master).
``quant.gateway.readmodel`` and ``quant.core.symbols`` provide the in-memory
implementations that ``quant up`` and the tests use. The candles and scanner endpoints read
stored history through a :class:`HistoryReader` (the tick store: QuestDB, or SQLite in
``quant up``). The trading endpoints forward to the
execution service through an :class:`ExecutionPort` (``quant.gateway.execution_client``).
API keys are checked through :class:`quant.users.access.KeyVerifier` (the
:class:`~quant.users.directory.UserDirectory`), passwords and session users through an
:class:`AccountDirectory` (the same directory); browser sessions live in a
:class:`quant.gateway.sessions.SessionStore`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from quant.core.events import Candle, EnrichedTick, OptionGreeks, ScannerSuggestion, Tick
from quant.core.instruments import Instrument
from quant.users.directory import Caller, Refusal, UserInfo
from quant.users.keys import ApiKey


class MarketReadModel(Protocol):
    """Latest market state per instrument_key."""

    def last_tick(self, instrument_key: str) -> Tick | None: ...

    def last_enriched(self, instrument_key: str) -> EnrichedTick | None: ...

    def last_greeks(self, instrument_key: str) -> OptionGreeks | None: ...


class InstrumentLookup(Protocol):
    """Symbol resolution over the instrument master."""

    def resolve(self, symbol: str) -> Instrument | None: ...

    def search(self, query: str, limit: int = 20) -> list[Instrument]: ...

    def option_chain(self, underlying_key: str) -> list[Instrument]: ...

    def get(self, instrument_key: str) -> Instrument | None: ...


class HistoryReader(Protocol):
    """Stored candles and scanner picks (what the tick store's ``TickReader`` offers).

    Calls block (run them in a worker thread) and raise
    :class:`quant.store.ports.StoreError` when the store does not answer.
    """

    def candles(
        self, instrument_key: str, start_ns: int, end_ns: int, interval_seconds: int = 60
    ) -> list[Candle]:
        """Candles with ``start_ns <= ts_start < end_ns``, oldest first."""
        ...

    def latest_suggestions(self, limit: int = 20) -> list[ScannerSuggestion]:
        """The newest scanner cycle's picks, by rank (at most ``limit``)."""
        ...


class Readiness(Protocol):
    """Whether the process can serve (bus connected, first data seen, ...)."""

    def ready(self) -> tuple[bool, Sequence[str]]: ...


class ExecutionReply(NamedTuple):
    """What the execution service answered: its HTTP status and its JSON body (None when
    the body was not JSON)."""

    status: int
    body: Any


class ExecutionUnavailable(Exception):
    """The execution service could not be reached, or did not answer in time (the message
    says which, in words for the caller)."""


class ExecutionPort(Protocol):
    """The execution service's HTTP API (``/v1/...``), asked on behalf of a caller."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        authorization: str,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
    ) -> ExecutionReply:
        """Send ``method path`` with the caller's ``Authorization`` header (and ``params``,
        a JSON ``body``); :class:`ExecutionUnavailable` when there is no answer."""
        ...


class AccountDirectory(Protocol):
    """The users as the login page and browser sessions need them (blocking: call in a
    worker thread; :class:`quant.store.ports.StoreError` when the store does not answer).
    The :class:`~quant.users.directory.UserDirectory` is one."""

    def verify_password(self, username: str, password: str) -> Caller | Refusal:
        """The caller if ``password`` is ``username``'s, else why not."""
        ...

    def get(self, username: str) -> UserInfo | None:
        """The user now (role, disabled), or None when there is no such user."""
        ...

    def issue_key(self, username: str) -> ApiKey:
        """A new API key of ``username`` (what the gateway forwards for its sessions)."""
        ...
