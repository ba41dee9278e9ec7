"""An :class:`~quant.gateway.ports.InstrumentLookup` over the relational instrument master.

``quant gateway`` (``quant.gateway.cli``) serves symbol resolution and search straight from
PostgreSQL (kept current by ``quant sync-instruments``) instead of holding the whole master
in memory. The routers are sync handlers (FastAPI runs them in its threadpool), so the
blocking store calls here never stall the event loop.
"""

from __future__ import annotations

from datetime import date

from quant.core.instruments import Instrument
from quant.store.ports import InstrumentRepository

_FAR = date(9999, 12, 31)
# Upper bound on the derivatives fetched for one option chain (NIFTY has a few thousand).
CHAIN_LIMIT = 20_000


class StoreInstrumentLookup:
    """Resolve, search and option chains through an :class:`InstrumentRepository`."""

    def __init__(self, repo: InstrumentRepository, *, chain_limit: int = CHAIN_LIMIT) -> None:
        self._repo = repo
        self._chain_limit = chain_limit

    def resolve(self, symbol: str) -> Instrument | None:
        text = symbol.strip()
        if not text:
            return None
        if "|" in text:
            return self._repo.get_instrument(text)
        found = self._repo.resolve_symbol(text)
        if found is not None:
            return found
        # index names ("NIFTY 50") are names, not trading symbols: accept an exact name match
        wanted = text.upper()
        return next(
            (i for i in self._repo.search_instruments(text, 20) if i.name.upper() == wanted), None
        )

    def search(self, query: str, limit: int = 20) -> list[Instrument]:
        return self._repo.search_instruments(query, limit)

    def get(self, instrument_key: str) -> Instrument | None:
        return self._repo.get_instrument(instrument_key)

    def option_chain(self, underlying_key: str) -> list[Instrument]:
        """Options on ``underlying_key``, nearest expiry first, then strike, CE before PE.

        The repository has no by-underlying query; derivatives carry the underlying's
        trading symbol in theirs, so a symbol search narrowed by ``underlying_key`` finds them.
        """
        underlying = self._repo.get_instrument(underlying_key)
        if underlying is None:
            return []
        candidates = self._repo.search_instruments(underlying.trading_symbol, self._chain_limit)
        options = [i for i in candidates if i.is_option and i.underlying_key == underlying_key]
        return sorted(
            options,
            key=lambda i: (i.expiry or _FAR, i.strike_paise or 0, i.instrument_type.value),
        )
