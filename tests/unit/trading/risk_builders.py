"""Shared builders for the risk tests: instruments, quotes, snapshots at fixed IST times."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from typing import Any

from quant.core.clock import IST, datetime_to_ns
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderType, Side
from quant.trading import OrderIntent, Product
from quant.trading.snapshot import Quote, RiskSnapshot

EQ_KEY = "NSE_EQ|INE002A01018"
FO_KEY = "NSE_FO|52618"
IDX_KEY = "NSE_INDEX|Nifty_50"
DAY = date(2026, 12, 7)  # a Monday, a normal NSE session

EQUITY = Instrument(
    EQ_KEY,
    "RELIANCE",
    "RELIANCE INDUSTRIES",
    "NSE",
    "NSE_EQ",
    InstrumentType.EQUITY,
    lot_size=1,
    tick_size_paise=10,
    freeze_quantity=100_000,
)
OPTION = Instrument(
    FO_KEY,
    "NIFTY 26000 CE",
    "NIFTY",
    "NSE",
    "NSE_FO",
    InstrumentType.CALL,
    lot_size=75,
    tick_size_paise=5,
    freeze_quantity=1_800,
    expiry=date(2026, 12, 29),
    strike_paise=2_600_000,
)
INDEX = Instrument(IDX_KEY, "NIFTY 50", "NIFTY 50", "NSE", "NSE_INDEX", InstrumentType.INDEX)


def at(hh: int, mm: int, ss: int = 0, day: date = DAY) -> int:
    return datetime_to_ns(datetime.combine(day, time(hh, mm, ss), tzinfo=IST))


NOW = at(10, 0)
EQ_QUOTE = Quote(
    ltp=250_000,
    best_bid=249_990,
    best_ask=250_010,
    upper_circuit=275_000,
    lower_circuit=225_000,
    ts_event=NOW,
)
FO_QUOTE = Quote(
    ltp=10_000,
    best_bid=9_995,
    best_ask=10_005,
    upper_circuit=20_000,
    lower_circuit=5,
    ts_event=NOW,
)


def intent(
    side: Side = Side.BUY,
    qty: int = 10,
    order_type: OrderType = OrderType.LIMIT,
    price: int = 250_000,
    trigger: int = 0,
    *,
    key: str = EQ_KEY,
    strategy: str = "orb",
    product: Product = Product.INTRADAY,
    **kw: Any,
) -> OrderIntent:
    return OrderIntent(
        strategy, key, side, qty, order_type, product, price=price, trigger_price=trigger, **kw
    )


def snapshot(**changes: Any) -> RiskSnapshot:
    base = RiskSnapshot(now_ns=NOW, instrument=EQUITY, quote=EQ_QUOTE)
    return dataclasses.replace(base, **changes)


def fo_snapshot(**changes: Any) -> RiskSnapshot:
    return snapshot(**{"instrument": OPTION, "quote": FO_QUOTE, **changes})
