"""``/api/v1/instruments``: search the instrument master by trading symbol or name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from quant.gateway.deps import InstrumentsDep
from quant.gateway.schemas import InstrumentOut

router = APIRouter(prefix="/api/v1/instruments", tags=["instruments"])


@router.get("/search", response_model=list[InstrumentOut])
def search(
    instruments: InstrumentsDep,
    query: Annotated[str, Query(min_length=1, max_length=50, description="symbol or name text")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[InstrumentOut]:
    return [InstrumentOut.of(i) for i in instruments.search(query, limit)]
