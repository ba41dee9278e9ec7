"""An :class:`~quant.gateway.ports.InstrumentLookup` over the relational instrument master.

``quant gateway`` (``quant.gateway.cli``) resolves symbols and searches the master kept in
PostgreSQL by ``quant sync-instruments``. A search there used to be a ``LIKE '%q%'`` over
every row per request; now the table is loaded once into an
:class:`~quant.core.symbols.InstrumentIndex` (indexed search, O(1) resolution and option
chains) and :meth:`StoreInstrumentLookup.refresh` reloads it when the table changed (a
cheap version query: rows and latest ``updated_at``). ``GatewayService`` calls ``refresh``
in a worker thread every ``instrument_refresh_s``; readers never wait for a reload, they
see the old snapshot until the new one is swapped in.
"""

from __future__ import annotations

import logging

from quant.core.instruments import Instrument
from quant.core.symbols import InstrumentIndex
from quant.store.ports import InstrumentRepository

log = logging.getLogger(__name__)


class StoreInstrumentLookup:
    """Resolve, search and option chains from a snapshot of an :class:`InstrumentRepository`.

    Blocking (SQL): build and :meth:`refresh` it in a worker thread. Empty until the first
    :meth:`refresh`.
    """

    def __init__(self, repo: InstrumentRepository) -> None:
        self._repo = repo
        self._version: tuple[int, str] | None = None
        self._index = InstrumentIndex.build([])
        self.loads = 0

    def refresh(self) -> bool:
        """Reload the snapshot if the table changed since the last load; True if reloaded."""
        version = self._repo.instruments_version()  # before reading: a later change reloads
        if version == self._version:
            return False
        index = InstrumentIndex.build(self._repo.list_instruments())
        self._index, self._version = index, version
        self.loads += 1
        log.info("instrument index loaded: %d instruments (table version %s)", len(index), version)
        return True

    def __len__(self) -> int:
        return len(self._index)

    def resolve(self, symbol: str) -> Instrument | None:
        return self._index.resolve(symbol.strip()) if symbol.strip() else None

    def search(self, query: str, limit: int = 20) -> list[Instrument]:
        return self._index.search(query, limit)

    def get(self, instrument_key: str) -> Instrument | None:
        return self._index.get(instrument_key)

    def option_chain(self, underlying_key: str) -> list[Instrument]:
        """Options on ``underlying_key``, nearest expiry first, then strike, CE before PE."""
        return self._index.option_chain(underlying_key)
