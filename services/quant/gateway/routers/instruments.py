"""``/api/v1/instruments``: search the instrument master by trading symbol, name, ISIN or key.

The lookup's search is indexed (:class:`quant.core.search.SymbolSearch`, about a
millisecond at worst) and runs, with the rendering of its JSON, in a worker thread, never
on the event loop; at most
:data:`SEARCH_THREADS` searches run at once, on a limiter of their own, so a burst of
searches can neither hold the event loop (the embedded pipeline of ``quant up``) nor
take the threads that quotes are served from.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from quant.gateway import errors
from quant.gateway.deps import InstrumentsDep
from quant.gateway.ports import InstrumentLookup
from quant.gateway.schemas import InstrumentOut

router = APIRouter(prefix="/api/v1/instruments", tags=["instruments"])

# any text without control characters (a NUL would reach the store's query as is)
QUERY_PATTERN = r"^[^\x00-\x1f\x7f]+$"
SEARCH_THREADS = 4
_RESULTS = TypeAdapter(list[InstrumentOut])


def _limiter(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "search_limiter", None)
    if limiter is None:
        limiter = state.search_limiter = anyio.CapacityLimiter(SEARCH_THREADS)
    return limiter


@router.get("/search", response_model=list[InstrumentOut], responses=errors.responses())
async def search(
    request: Request,
    instruments: InstrumentsDep,
    query: Annotated[
        str,
        Query(
            min_length=1,
            max_length=50,
            pattern=QUERY_PATTERN,
            description="trading symbol or name text, an ISIN or an instrument_key "
            "(printable characters); exact matches first, then prefixes, then substrings",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    body = await anyio.to_thread.run_sync(
        _search, instruments, query, limit, limiter=_limiter(request)
    )
    return Response(body, media_type="application/json")


def _search(instruments: InstrumentLookup, query: str, limit: int) -> bytes:
    """The search and its JSON, both in the worker thread (the event loop only sends it)."""
    return _RESULTS.dump_json([InstrumentOut.of(i) for i in instruments.search(query, limit)])
