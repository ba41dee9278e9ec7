"""Which bus ticks the feature engine may see: values in the ranges the feed decoders keep.

The ingestor's decoders (:mod:`quant.upstox.checks`) never publish an out-of-range tick,
but the feature service reads whatever the bus holds (an older ingestor, a replay,
another producer), and the engine's arithmetic on int64 columns overflows on garbage
(a timestamp at the end of int64 breaks its rolling windows). :func:`plausible_rows`
marks the ticks the engine may take; :class:`quant.features.service.FeatureService`
drops the others before enriching, counts them (``features_rejected_ticks_total``) and
logs them at most every 10 s. Time is bounded absolutely (2000 to 2100), not by the
session: that is the ingestor's check, against its clock.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from quant.analytics.columns import TickColumns
from quant.analytics.segments import BoolArray, IntArray
from quant.core.clock import NS_PER_SECOND
from quant.upstox.checks import TickLimits

_LIMITS: Final = TickLimits()
MAX_PRICE_PAISE: Final = _LIMITS.max_price_rupees * 100
MAX_QUANTITY: Final = _LIMITS.max_quantity
TS_LO_NS: Final = 946_684_800 * NS_PER_SECOND  # 2000-01-01T00:00Z
TS_HI_NS: Final = 4_102_444_800 * NS_PER_SECOND  # 2100-01-01T00:00Z


def _within(a: IntArray, lo: int, hi: int) -> BoolArray:
    ok: BoolArray = (a >= lo) & (a <= hi)
    return ok


def plausible_rows(t: TickColumns) -> BoolArray:
    """Per tick: every value the engine or the store reads is in range."""
    ok = _within(t.ltp, 1, MAX_PRICE_PAISE)
    ok &= _within(t.ts_event, TS_LO_NS, TS_HI_NS)
    ok &= _within(t.ts_init, TS_LO_NS, TS_HI_NS)
    ok &= (t.ltt_ns == 0) | _within(t.ltt_ns, TS_LO_NS, TS_HI_NS)
    for q in (t.ltq, t.volume, t.oi, t.total_buy_quantity, t.total_sell_quantity):
        if q is not None:
            ok &= _within(q, 0, MAX_QUANTITY)
    for p in (t.close_price, t.atp):
        if p is not None:
            ok &= _within(p, 0, MAX_PRICE_PAISE)
    for prices, qtys in ((t.bid_price, t.bid_qty), (t.ask_price, t.ask_qty)):
        if prices.size:
            ok &= np.all(_within(prices, 0, MAX_PRICE_PAISE), axis=1)
            ok &= np.all(_within(qtys, 0, MAX_QUANTITY), axis=1)
    return ok
