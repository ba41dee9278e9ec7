"""One cycle's arithmetic (pure): quotes + history arrays -> ``ScanInputs`` -> signals ->
composite score -> the top N as ``ScannerSuggestion`` events with their reasons.

Called by :class:`quant.scanner.cycle.ScanCycle` (off the event loop) and usable by a
replay with inputs of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from quant.analytics.scanner_score import composite_score, normalised, reasons, top_n
from quant.analytics.scanner_signals import SIGNAL_NAMES, FloatArray, ScanInputs, compute_signals
from quant.core.events import ScannerSuggestion
from quant.scanner.ports import ScanQuote
from quant.scanner.schedule import minute_label
from quant.scanner.settings import ScannerSettings


class QuoteArrays(NamedTuple):
    """The quotes of the scanned names as rupee arrays (NaN where a name had no quote or
    a price is 0, i.e. no trade yet), and the last prices in paise for the picks."""

    last: FloatArray
    prev_close: FloatArray
    day_open: FloatArray
    day_high: FloatArray
    day_low: FloatArray
    vwap: FloatArray
    volume: FloatArray
    last_paise: list[int]
    quoted: int


def _price(values: Sequence[int]) -> FloatArray:
    a = np.asarray(values, dtype=np.float64) / 100.0
    out: FloatArray = np.where(a > 0, a, np.nan)
    return out


def quote_arrays(keys: Sequence[str], quotes: Mapping[str, ScanQuote]) -> QuoteArrays:
    missing = ScanQuote("", 0, 0, 0, 0, 0, 0, -1)
    rows = [quotes.get(k, missing) for k in keys]
    volume = np.asarray([q.volume for q in rows], dtype=np.float64)
    return QuoteArrays(
        last=_price([q.last for q in rows]),
        prev_close=_price([q.prev_close for q in rows]),
        day_open=_price([q.open for q in rows]),
        day_high=_price([q.high for q in rows]),
        day_low=_price([q.low for q in rows]),
        vwap=_price([q.vwap for q in rows]),
        volume=np.where(volume >= 0, volume, np.nan),
        last_paise=[q.last for q in rows],
        quoted=sum(1 for k in keys if k in quotes),
    )


def index_prices(quote: ScanQuote | None) -> tuple[float, float]:
    """(last, previous close) of the index in rupees; NaN when unknown."""
    if quote is None or quote.last <= 0 or quote.prev_close <= 0:
        return float("nan"), float("nan")
    return quote.last / 100.0, quote.prev_close / 100.0


class Ranked(NamedTuple):
    picks: list[ScannerSuggestion]
    scored: int  # names with a score (enough known signals)


def rank(
    inputs: ScanInputs,
    *,
    keys: Sequence[str],
    symbols: Sequence[str],
    last_paise: Sequence[int],
    now_ns: int,
    settings: ScannerSettings,
) -> Ranked:
    """The cycle's picks, best first (rank 1), each with its signals and reasons."""
    signals = compute_signals(inputs, settings.params)
    z = normalised(signals)
    weights = settings.weights.to_weights()
    score = composite_score(signals, weights, min_known_weight=settings.min_known_weight, z=z)
    label = minute_label(now_ns)
    picks = []
    for rank_, i in enumerate(top_n(score, settings.top_n).tolist(), start=1):
        picks.append(
            ScannerSuggestion(
                instrument_key=keys[i],
                trading_symbol=symbols[i],
                ts_event=now_ns,
                rank=rank_,
                score=float(score[i]),
                reasons=reasons(
                    signals,
                    i,
                    minute_label=label,
                    or_minutes=settings.or_minutes,
                    params=settings.params,
                    weights=weights,
                    z=z,
                ),
                last_price=int(last_paise[i]),
                feed_mode=settings.pick_mode,
                signals=tuple((name, float(signals[name][i])) for name in SIGNAL_NAMES),
            )
        )
    return Ranked(picks, int(np.count_nonzero(~np.isnan(score))))
