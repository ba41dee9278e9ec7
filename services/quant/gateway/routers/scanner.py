"""``GET /api/v1/scanner/suggestions``: the momentum scanner's latest picks, with reasons.

Reads the newest cycle of the tick store's ``scanner_suggestions`` table (what
``quant scanner`` writes every cycle) through the
:class:`~quant.gateway.ports.HistoryReader`: the cycle's time, and per pick its rank,
instrument, score, last price (rupees, as in the quote), the reasons a trader reads and
each signal's value (NaN, an unknown signal, as ``null``). No cycle yet is an empty list
with ``ts`` null, not an error; no tick store, or one that does not answer, a 503.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from quant.core.events import ScannerSuggestion
from quant.core.money import paise_to_str
from quant.gateway import errors
from quant.gateway.deps import HistoryDep
from quant.gateway.routers.candles import HISTORY_THREADS, store_down
from quant.gateway.schemas import finite, iso_ist
from quant.store.ports import StoreError

router = APIRouter(prefix="/api/v1/scanner", tags=["scanner"])


class SuggestionOut(BaseModel):
    rank: int = Field(description="1 is the best pick of the cycle")
    instrument_key: str
    trading_symbol: str
    score: float | None = Field(description="the composite score (higher is better)")
    last_price: str = Field(description="rupees, a decimal string with 2 places")
    reasons: list[str] = Field(description="why it was picked, in words")
    signals: dict[str, float | None] = Field(
        description="each signal's value by name (orb, high_dist, rel_volume, rel_strength, "
        "gap, vwap_dist, roc, contraction; see docs/scanner.md); null when unknown"
    )

    @classmethod
    def of(cls, s: ScannerSuggestion) -> SuggestionOut:
        return cls(
            rank=s.rank,
            instrument_key=s.instrument_key,
            trading_symbol=s.trading_symbol,
            score=finite(s.score),
            last_price=paise_to_str(s.last_price),
            reasons=list(s.reasons),
            signals={name: finite(value) for name, value in s.signals},
        )


class SuggestionsOut(BaseModel):
    """The newest scanner cycle's picks, best first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"ts": "2026-12-08T10:25:00+05:30",
                 "suggestions": [{"rank": 1, "instrument_key": "NSE_EQ|INE002A01018",
                                  "trading_symbol": "RELIANCE", "score": 2.41,
                                  "last_price": "1543.90",
                                  "reasons": ["0.4% below the 20-day high",
                                              "relative volume 3.1x for 10:25",
                                              "+1.8% vs NIFTY"],
                                  "signals": {"orb": 0.6, "high_dist": -0.004,
                                              "rel_volume": 3.1, "rel_strength": 0.018,
                                              "gap": 0.002, "vwap_dist": 0.006,
                                              "roc": 0.011, "contraction": None}}]},
                {"ts": None, "suggestions": []},
            ]
        }
    )  # fmt: skip

    ts: str | None = Field(description="the cycle's time, ISO-8601 in IST; null: no cycle yet")
    suggestions: list[SuggestionOut]


def _limiter(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "scanner_limiter", None)
    if limiter is None:
        limiter = state.scanner_limiter = anyio.CapacityLimiter(HISTORY_THREADS)
    return limiter


@router.get("/suggestions", response_model=SuggestionsOut, responses=errors.responses(503))
async def suggestions(
    request: Request,
    history: HistoryDep,
    limit: Annotated[int, Query(ge=1, le=100, description="at most this many picks")] = 20,
) -> SuggestionsOut:
    try:
        picks = await anyio.to_thread.run_sync(
            history.latest_suggestions, limit, limiter=_limiter(request)
        )
    except StoreError as e:
        raise store_down(e) from e
    return SuggestionsOut(
        ts=iso_ist(picks[0].ts_event) if picks else None,
        suggestions=[SuggestionOut.of(p) for p in picks],
    )
