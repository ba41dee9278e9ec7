"""What the simulator's order-engine tests share: a stepped market and a place-order body."""

from __future__ import annotations

from datetime import date, datetime, time

from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.sim.config import SimConfig
from quant.sim.market import Market
from quant.sim.master import build_universe

DAY = date(2026, 11, 24)
RELIANCE = "NSE_EQ|INE002A01018"


def stepped_market(seed: int = 7) -> tuple[Market, FakeClock]:
    """The simulated market at 10:00 IST on ``DAY``, three steps in (books filled)."""
    cfg = SimConfig()
    clock = FakeClock(datetime_to_ns(datetime.combine(DAY, time(10, 0), tzinfo=IST)))
    market = Market(build_universe(cfg, DAY), clock, seed, cfg.calendar)
    for _ in range(3):
        clock.advance(2.0)
        market.step()
    return market, clock


def order_body(**kw: object) -> dict[str, object]:
    """A place-order request body (a MARKET BUY of 10 RELIANCE, intraday), with ``kw``."""
    body: dict[str, object] = {
        "instrument_token": RELIANCE,
        "quantity": 10,
        "product": "I",
        "validity": "DAY",
        "price": 0,
        "order_type": "MARKET",
        "transaction_type": "BUY",
        "trigger_price": 0,
        "tag": "t1",
    }
    body.update(kw)
    return body
