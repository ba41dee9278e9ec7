"""``/api/v1/instruments``: search the instrument master by trading symbol or name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from quant.gateway.deps import InstrumentsDep
from quant.gateway.schemas import InstrumentOut

router = APIRouter(prefix="/api/v1/instruments", tags=["instruments"])

# any text without control characters (a NUL would reach the store's query as is)
QUERY_PATTERN = r"^[^\x00-\x1f\x7f]+$"


@router.get("/search", response_model=list[InstrumentOut])
def search(
    instruments: InstrumentsDep,
    query: Annotated[
        str,
        Query(
            min_length=1,
            max_length=50,
            pattern=QUERY_PATTERN,
            description="symbol or name text (printable characters)",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[InstrumentOut]:
    return [InstrumentOut.of(i) for i in instruments.search(query, limit)]
