"""The gateway's ports: what its routers read, owned here as small protocols.

Routers never touch SQL or the bus: they call a :class:`MarketReadModel` (latest tick,
enriched tick and greeks per instrument, fed by the bus or the tick store) and an
:class:`InstrumentLookup` (symbol resolution and search over the instrument master).
``quant.gateway.readmodel`` and ``quant.core.symbols`` provide the in-memory
implementations that ``quant up`` and the tests use. API keys are checked through
:class:`quant.users.access.KeyVerifier` (the :class:`~quant.users.directory.UserDirectory`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from quant.core.events import EnrichedTick, OptionGreeks, Tick
from quant.core.instruments import Instrument


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


class Readiness(Protocol):
    """Whether the process can serve (bus connected, first data seen, ...)."""

    def ready(self) -> tuple[bool, Sequence[str]]: ...
