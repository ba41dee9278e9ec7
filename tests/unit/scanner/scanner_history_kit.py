"""A hand-built tick store for the scanner's history tests: a few flat names, one that
breaks out at 09:30 on the evaluated day, one that falls, one illiquid runner, NIFTY 50.

Previous sessions (2026-12-01 .. 12-04) are flat for every name: one-minute bars of 200
shares, day candles stored (except for ``AGG``, whose daily history must be aggregated
from its minute bars). On :data:`DAY` (Monday 2026-12-07):

* ``BRK`` (100.00) is flat for the first 15 minutes, then closes ``100 + 0.2 * (k - 14)``
  at minute ``k`` with 1,000 shares a minute (5x the usual);
* ``FALL`` (200.00) closes ``200 - 0.1 * (k - 14)`` from minute 15 on;
* ``ILLIQ`` runs like ``BRK`` times 3 but trades 1 share a day before: never liquid;
* the flat names and ``AGG`` stay at their price; ``GHOST`` has no candle at all.
"""

from __future__ import annotations

from datetime import date, datetime, time

from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns
from quant.core.events import Candle
from quant.store.columns import candle_batch
from quant.store.sqlite_ticks import SqliteTickStore

PRIOR_DAYS = (date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 4))
DAY = date(2026, 12, 7)
MINUTES = 375
INDEX = "NSE_INDEX|Nifty 50"
FLAT = {f"NSE_EQ|FLAT{i:02d}": 50.0 + 10 * i for i in range(10)}
BRK, FALL, ILLIQ, AGG, GHOST = (f"NSE_EQ|{s}" for s in ("BRK", "FALL", "ILLIQ", "AGG", "GHOST"))
PRICES = {**FLAT, BRK: 100.0, FALL: 200.0, ILLIQ: 300.0, AGG: 150.0}
SYMBOLS = [k.split("|")[1] for k in (*FLAT, BRK, FALL, ILLIQ, AGG, GHOST)]
KEYS = [*FLAT, BRK, FALL, ILLIQ, AGG, GHOST]
PRIOR_MINUTE_VOLUME = 200


def open_ns(day: date) -> int:
    return datetime_to_ns(datetime.combine(day, time(9, 15), tzinfo=IST))


def at(day: date, hh: int, mm: int) -> int:
    return datetime_to_ns(datetime.combine(day, time(hh, mm), tzinfo=IST))


def paise(rupees: float) -> int:
    return round(rupees * 100)


def today_close(key: str, k: int) -> float:
    """The hand-written path of ``key`` at minute ``k`` of :data:`DAY`."""
    base = PRICES[key]
    if key == BRK:
        return base + 0.2 * max(k - 14, 0)
    if key == ILLIQ:
        return base + 0.6 * max(k - 14, 0)
    if key == FALL:
        return base - 0.1 * max(k - 14, 0)
    return base


def today_volume(key: str, k: int) -> int:
    if key in (BRK, ILLIQ) and k >= 15:
        return 1000
    return PRIOR_MINUTE_VOLUME


def minute(key: str, day: date, k: int, close: float, volume: int) -> Candle:
    c = paise(close)
    return Candle(key, 60, open_ns(day) + k * 60 * NS_PER_SECOND, c, c + 10, c - 10, c, volume)


def build_store(path: str = ":memory:", *, with_today: bool = True) -> SqliteTickStore:
    """The store described in the module docstring."""
    store = SqliteTickStore(path).open()
    candles: list[Candle] = []
    for day in PRIOR_DAYS:
        midnight = datetime_to_ns(datetime.combine(day, time(0), tzinfo=IST))
        for key, price in {**PRICES, INDEX: 26000.0}.items():
            vol = 1 if key == ILLIQ else PRIOR_MINUTE_VOLUME
            candles += [minute(key, day, k, price, vol) for k in range(MINUTES)]
            if key != AGG:
                p = paise(price)
                candles.append(Candle(key, 86400, midnight, p, p + 10, p - 10, p, vol * MINUTES))
    if with_today:
        for key in (*PRICES, INDEX):
            if key == INDEX:
                candles += [minute(key, DAY, k, 26000.0, 0) for k in range(MINUTES)]
                continue
            candles += [
                minute(key, DAY, k, today_close(key, k), today_volume(key, k))
                for k in range(MINUTES)
            ]
    store.write(candle_batch(candles))
    return store
