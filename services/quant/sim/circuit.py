"""Circuit limits (daily price bands) of the simulated instruments, in paise.

Deterministic per instrument, from the previous close (recomputed at each day roll):

* equities: ±20 % for names with F&O, else ±10 % or ±20 % by a stable hash of the
  symbol (NSE's 2/5/10/20 % bands, narrowed to two); a BSE row takes its NSE twin's band;
* futures: the underlying's band (index futures ±10 %);
* options: from one tick up to the previous close plus the underlying's band applied to
  the underlying's previous close (an option cannot gain more than its underlying moves);
* indices: none (0, as Upstox quotes them).

Limits lie on the tick grid (lower rounded up, upper rounded down). The market model
keeps its prices inside them, the matching engine rejects orders priced outside them and
caps MARKET fills at them, and the full market quote reports them
(``lower_circuit_limit`` / ``upper_circuit_limit``). Used by :class:`quant.sim.market.Market`.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

from quant.sim.master import Kind, Universe

INDEX_DERIVATIVE_BAND = 0.10
BANDS = (0.10, 0.20)


def band_fractions(u: Universe) -> npt.NDArray[np.float64]:
    """Each row's band as a fraction of its (or, for options, its underlying's) close."""
    n = len(u)
    kind = u.kind
    und = u.underlying
    has_fno = np.zeros(n, dtype=bool)
    has_fno[und[kind == Kind.FUT]] = True
    band = np.zeros(n)
    eq = np.nonzero(kind == Kind.EQ)[0]
    for i in eq:
        twin = int(und[i])  # a BSE row points at its NSE twin, an NSE row at itself
        symbol = str(u.rows[twin]["trading_symbol"])
        band[i] = 0.20 if has_fno[twin] else BANDS[zlib.crc32(symbol.encode()) % len(BANDS)]
    deriv = np.nonzero((kind == Kind.FUT) | (kind == Kind.CE) | (kind == Kind.PE))[0]
    und_is_index = kind[und[deriv]] == Kind.INDEX
    band[deriv] = np.where(und_is_index, INDEX_DERIVATIVE_BAND, band[und[deriv]])
    return band


def limits(
    u: Universe,
    band: npt.NDArray[np.float64],
    close_prev: npt.NDArray[np.int64],
    tick: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(lower, upper)`` circuit limits in paise; both 0 for rows without a band."""
    cp = close_prev.astype(np.float64)
    is_opt = (u.kind == Kind.CE) | (u.kind == Kind.PE)
    width = np.where(is_opt, band * cp[u.underlying], band * cp)
    lo_raw = np.where(is_opt, tick, cp - width)
    lo = np.maximum(np.ceil(lo_raw / tick) * tick, tick).astype(np.int64)
    hi = (np.floor((cp + width) / tick) * tick).astype(np.int64)
    none = band <= 0
    lo[none] = 0
    hi[none] = 0
    return lo, hi
