"""Order-book depth of the simulated market: a ladder at the instrument's tick size.

Quantities come from a counter-based hash of (step, instrument, level), so the book is
deterministic under the seed whichever instruments are looked at. The trade printed in a
step consumes the touched side: when it takes out level 1 the ladder shifts a tick away.
Called by the feed encoder (5 or 30 levels), REST quotes and the matching engine. Bid
levels that would fall to zero or below the lowest price are empty (price and quantity 0).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(0x9E3779B97F4A7C15)


def mix(a: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser, elementwise (wrapping uint64 arithmetic)."""
    x = a.copy()
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def hashed(seed: int, step: int, idx: IntArray, levels: int) -> npt.NDArray[np.uint64]:
    """A (len(idx), levels) array of pseudo-random uint64 for this step."""
    base = (idx.astype(np.uint64) * _G)[:, None] + np.arange(levels, dtype=np.uint64)[None, :]
    salt = np.uint64((seed * 1_000_003 + step) & 0xFFFFFFFFFFFFFFFF)
    return mix(mix(base ^ salt))


class Book(NamedTuple):
    """Depth for n instruments x L levels; prices in paise, best first."""

    bid_price: IntArray
    bid_qty: IntArray
    bid_orders: IntArray
    ask_price: IntArray
    ask_qty: IntArray
    ask_orders: IntArray


def build_book(
    seed: int,
    step: int,
    idx: IntArray,
    fair_paise: npt.NDArray[np.float64],
    tick: IntArray,
    lot: IntArray,
    depth_scale: npt.NDArray[np.float64],
    consumed: IntArray,
    side: npt.NDArray[np.int8],
    levels: int = 5,
) -> Book:
    """Ladder around ``fair_paise``; ``consumed`` qty of this step's trade hit ``side``.

    ``side`` +1 means a buyer lifted the offer (asks consumed), -1 a seller hit the bid.
    """
    tick2 = tick[:, None]
    best_bid = (np.floor(fair_paise / tick) * tick).astype(np.int64)
    best_bid = np.maximum(best_bid, tick)
    best_ask = best_bid + tick
    h = hashed(seed, step, idx, 2 * levels + 2)
    units = (h % np.uint64(40)).astype(np.int64) + 1
    scale = np.maximum(depth_scale, 1.0)[:, None]
    qty = (units * np.ceil(scale).astype(np.int64)) * lot[:, None]
    orders = ((h >> np.uint64(8)) % np.uint64(12)).astype(np.int64) + 1
    lv = np.arange(levels + 1, dtype=np.int64)[None, :]
    bid_p = best_bid[:, None] - lv * tick2
    ask_p = best_ask[:, None] + lv * tick2
    bid_q, ask_q = qty[:, : levels + 1].copy(), qty[:, levels + 1 :].copy()
    bid_o, ask_o = orders[:, : levels + 1].copy(), orders[:, levels + 1 :].copy()
    sides = ((ask_p, ask_q, ask_o, side > 0), (bid_p, bid_q, bid_o, side < 0))
    for arr_p, arr_q, arr_o, hit in sides:
        rows = np.nonzero(hit & (consumed > 0))[0]
        if len(rows) == 0:
            continue
        take = consumed[rows]
        wipe = take >= arr_q[rows, 0]
        keep = rows[~wipe]
        arr_q[keep, 0] -= take[~wipe]
        gone = rows[wipe]
        arr_p[gone, :-1] = arr_p[gone, 1:]
        arr_q[gone, :-1] = arr_q[gone, 1:]
        arr_o[gone, :-1] = arr_o[gone, 1:]
    # below the lowest price there are no bids: such levels are empty, not negative
    # (the feed decoders drop a tick with a negative price anywhere in it)
    below = bid_p <= 0
    bid_p[below], bid_q[below], bid_o[below] = 0, 0, 0
    return Book(
        bid_p[:, :levels],
        bid_q[:, :levels],
        bid_o[:, :levels],
        ask_p[:, :levels],
        ask_q[:, :levels],
        ask_o[:, :levels],
    )
