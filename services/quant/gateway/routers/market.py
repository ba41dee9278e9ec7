"""``/api/v1/market``: quotes and greeks for a trading symbol or an instrument_key.

``GET /quote/{symbol}``: last price, change, OHLC, depth, VWAP, imbalance, spread, as-of,
and the source of the data (``sim`` or ``upstox``), and the data's age by exchange time
with a ``stale`` flag (the gateway's clock and ``stale_after_s``).
``GET /greeks/{symbol}[?expiry=YYYY-MM-DD]``: for an option, Upstox's and our IV and
greeks; for an underlying, the options of one expiry (``expiry``, or the nearest expiry
that has market data) that have greeks or ticks. An underlying none of whose options
has data is a 404 that says its options are not subscribed, not a chain of nulls.
Unknown symbols are 404 with a message; malformed ones 422 (the shapes are in
:mod:`quant.gateway.errors`). Reads only the ports.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from quant.core.instruments import Instrument, validate_instrument_key
from quant.core.money import paise_to_str
from quant.gateway import errors
from quant.gateway.deps import InstrumentsDep, MarketDep, PortsDep, SourceDep
from quant.gateway.ports import InstrumentLookup
from quant.gateway.schemas import (
    SYMBOL_PATTERN,
    ChainOut,
    OptionGreeksOut,
    QuoteOut,
    render_option,
    render_quote,
)

router = APIRouter(prefix="/api/v1/market", tags=["market"])

SymbolPath = Annotated[
    str,
    Path(
        description="A trading symbol (RELIANCE, NIFTY 50) or an instrument_key (NSE_EQ|INE...)",
        pattern=SYMBOL_PATTERN,
    ),
]


def find_instrument(instruments: InstrumentLookup, symbol: str) -> Instrument | None:
    """The instrument ``symbol`` names (a trading symbol or an instrument_key), None if
    unknown; ValueError saying why for a malformed instrument_key."""
    if "|" in symbol:
        validate_instrument_key(symbol)
    return instruments.resolve(symbol)


def unknown_symbol(symbol: str) -> str:
    return (
        f"unknown symbol {symbol!r}: not a trading symbol or instrument_key "
        "in the instrument master (try /api/v1/instruments/search?query=...)"
    )


def resolve_or_404(instruments: InstrumentLookup, symbol: str) -> Instrument:
    """The instrument ``symbol`` names; 422 for a malformed instrument_key, 404 if unknown."""
    try:
        inst = find_instrument(instruments, symbol)
    except ValueError as e:
        raise errors.invalid("path", "symbol", str(e)) from e
    if inst is None:
        raise HTTPException(status_code=404, detail=unknown_symbol(symbol))
    return inst


@router.get("/quote/{symbol}", response_model=QuoteOut, responses=errors.responses(404))
def get_quote(
    symbol: SymbolPath,
    market: MarketDep,
    instruments: InstrumentsDep,
    source: SourceDep,
    ports: PortsDep,
) -> QuoteOut:
    inst = resolve_or_404(instruments, symbol)
    tick = market.last_tick(inst.instrument_key)
    if tick is None:
        raise HTTPException(
            status_code=404,
            detail=f"no market data yet for {inst.trading_symbol} ({inst.instrument_key}): "
            "it is not subscribed or no tick has arrived",
        )
    return render_quote(
        inst,
        tick,
        market.last_enriched(inst.instrument_key),
        source=source,
        now_ns=ports.clock.now_ns(),
        stale_after_s=ports.stale_after_s,
    )


ExpiryQuery = Annotated[
    date | None,
    Query(
        description="For an underlying: the expiry of the chain (YYYY-MM-DD); default the "
        "nearest expiry that has market data. For an option: must be its own expiry."
    ),
]
# How many expiries a "no such expiry" message lists.
_LIST_EXPIRIES = 6


def _with_data(market: MarketDep, options: list[Instrument]) -> list[OptionGreeksOut]:
    rows = []
    for o in options:
        upstox, ours = market.last_greeks(o.instrument_key), market.last_enriched(o.instrument_key)
        if upstox is not None or ours is not None:
            rows.append(render_option(o, upstox, ours))
    return rows


@router.get(
    "/greeks/{symbol}", response_model=OptionGreeksOut | ChainOut, responses=errors.responses(404)
)
def get_greeks(
    symbol: SymbolPath, market: MarketDep, instruments: InstrumentsDep, expiry: ExpiryQuery = None
) -> OptionGreeksOut | ChainOut:
    inst = resolve_or_404(instruments, symbol)
    if inst.is_option:
        if expiry is not None and expiry != inst.expiry:
            raise errors.invalid(
                "query",
                "expiry",
                f"{inst.trading_symbol} is an option expiring on {inst.expiry}; "
                "expiry selects the chain of an underlying",
            )
        upstox = market.last_greeks(inst.instrument_key)
        ours = market.last_enriched(inst.instrument_key)
        if upstox is None and ours is None:
            raise HTTPException(
                status_code=404,
                detail=f"no greeks yet for {inst.trading_symbol} ({inst.instrument_key}): "
                "it is not subscribed or no tick has arrived",
            )
        return render_option(inst, upstox, ours)
    chain = instruments.option_chain(inst.instrument_key)
    if not chain:
        raise HTTPException(
            status_code=404,
            detail=f"{inst.trading_symbol} is neither an option nor an underlying with options",
        )
    by_expiry: dict[date | None, list[Instrument]] = {}
    for o in chain:  # nearest expiry first
        by_expiry.setdefault(o.expiry, []).append(o)
    if expiry is not None and expiry not in by_expiry:
        listed = ", ".join(str(d) for d in list(by_expiry)[:_LIST_EXPIRIES])
        raise HTTPException(
            status_code=404,
            detail=f"no {inst.trading_symbol} options expire on {expiry}; expiries: {listed}",
        )
    wanted = [expiry] if expiry is not None else list(by_expiry)
    chosen, rows = wanted[0], []
    for day in wanted:
        rows = _with_data(market, by_expiry[day])
        if rows:
            chosen = day
            break
    if not rows:
        which = f"expiring on {expiry}" if expiry is not None else "of any expiry"
        raise HTTPException(
            status_code=404,
            detail=f"options on {inst.trading_symbol} {which} are not subscribed: no greeks or "
            f"ticks have arrived for any of them (add OPTIONS:{inst.trading_symbol} to the "
            "universe, QUANT_UNIVERSE)",
        )
    spot = market.last_tick(inst.instrument_key)
    return ChainOut(
        underlying_key=inst.instrument_key,
        trading_symbol=inst.trading_symbol,
        spot=None if spot is None else paise_to_str(spot.ltp),
        expiry=chosen,
        options=rows,
    )
