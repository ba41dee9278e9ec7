"""``/api/v1/market``: quotes and greeks for a trading symbol or an instrument_key.

``GET /quote/{symbol}``: last price, change, OHLC, depth, VWAP, imbalance, spread, as-of,
and the source of the data (``sim`` or ``upstox``), and the data's age by exchange time
with a ``stale`` flag (the gateway's clock and ``stale_after_s``).
``GET /greeks/{symbol}``: for an option, Upstox's and our IV and greeks; for an
underlying, its nearest-expiry chain. Unknown symbols are 404 with a message; malformed
ones 422. Reads only the :class:`~quant.gateway.ports.MarketReadModel` port.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from quant.core.instruments import Instrument, validate_instrument_key
from quant.core.money import paise_to_str
from quant.gateway.deps import InstrumentsDep, MarketDep, PortsDep, SourceDep
from quant.gateway.ports import InstrumentLookup
from quant.gateway.schemas import ChainOut, OptionGreeksOut, QuoteOut, render_option, render_quote

router = APIRouter(prefix="/api/v1/market", tags=["market"])

# Trading symbols, index names and instrument keys: letters, digits, space, & - . | : _
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 &\-.|:_]{0,79}$"

SymbolPath = Annotated[
    str,
    Path(
        description="A trading symbol (RELIANCE, NIFTY 50) or an instrument_key (NSE_EQ|INE...)",
        pattern=SYMBOL_PATTERN,
    ),
]


def resolve_or_404(instruments: InstrumentLookup, symbol: str) -> Instrument:
    """The instrument ``symbol`` names; 422 for a malformed instrument_key, 404 if unknown."""
    if "|" in symbol:
        try:
            validate_instrument_key(symbol)
        except ValueError as e:
            raise HTTPException(status_code=422, detail=str(e)) from e
    inst = instruments.resolve(symbol)
    if inst is None:
        raise HTTPException(
            status_code=404,
            detail=f"unknown symbol {symbol!r}: not a trading symbol or instrument_key "
            "in the instrument master (try /api/v1/instruments/search?query=...)",
        )
    return inst


@router.get("/quote/{symbol}", response_model=QuoteOut)
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


@router.get("/greeks/{symbol}", response_model=OptionGreeksOut | ChainOut)
def get_greeks(
    symbol: SymbolPath, market: MarketDep, instruments: InstrumentsDep
) -> OptionGreeksOut | ChainOut:
    inst = resolve_or_404(instruments, symbol)
    if inst.is_option:
        upstox = market.last_greeks(inst.instrument_key)
        ours = market.last_enriched(inst.instrument_key)
        if upstox is None and ours is None:
            raise HTTPException(
                status_code=404,
                detail=f"no greeks yet for {inst.trading_symbol} ({inst.instrument_key})",
            )
        return render_option(inst, upstox, ours)
    chain = instruments.option_chain(inst.instrument_key)
    if not chain:
        raise HTTPException(
            status_code=404,
            detail=f"{inst.trading_symbol} is neither an option nor an underlying with options",
        )
    nearest = chain[0].expiry
    rows = [
        render_option(
            o, market.last_greeks(o.instrument_key), market.last_enriched(o.instrument_key)
        )
        for o in chain
        if o.expiry == nearest
    ]
    spot = market.last_tick(inst.instrument_key)
    return ChainOut(
        underlying_key=inst.instrument_key,
        trading_symbol=inst.trading_symbol,
        spot=None if spot is None else paise_to_str(spot.ltp),
        expiry=nearest,
        options=rows,
    )
