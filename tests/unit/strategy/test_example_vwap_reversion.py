"""The VWAP reversion example: a confirmed stretch is faded, exits at VWAP, its stop, 15:10."""

from __future__ import annotations

import pytest
from examples_kit import Driver, enriched_tick
from strategy_kit import KEY, KEY2, ist

from quant.core.events import AggressorSide
from quant.core.orders import OrderStatus
from quant.strategy.examples.vwap_reversion import VwapReversion
from quant.trading.strategy import InvalidParams

VWAP = 100_000.0  # 1000.00
# ten samples, one a second, of +/-1.00 around VWAP: a rolling deviation of 1.00
BASE = {"instruments": [KEY], "quantity": 10, "k": 2.0, "window": 10, "sample_seconds": 1}
SELL, BUY, NONE = AggressorSide.SELL, AggressorSide.BUY, AggressorSide.NONE


def warm_up(d: Driver, hh: int = 9, mm: int = 50, key: str = KEY) -> int:
    """Ten ticks at hh:mm:00..09, alternating 1001.00 / 999.00; returns the next second."""
    t0 = ist(hh, mm)
    for i in range(10):
        ltp = 100_100 if i % 2 == 0 else 99_900
        d.enriched(enriched_tick(t0 + i * 10**9, ltp, key=key, vwap=VWAP))
    return t0 + 10 * 10**9


def stretch(d: Driver, ts: int, ltp: int, imbalance: float, aggressor: AggressorSide) -> None:
    d.enriched(enriched_tick(ts, ltp, key=KEY, vwap=VWAP, imbalance=imbalance, aggressor=aggressor))


def shorted() -> tuple[Driver, str, int]:
    """3 deviations above VWAP, the book leaning to the offer, a sell hitting the bid."""
    d = Driver(VwapReversion(), BASE, start=ist(9, 49))
    ts = warm_up(d)
    stretch(d, ts, 100_300, -0.5, SELL)
    assert d.sent() == [(KEY, "SELL", 10, "MARKET", 0, 0, "I")]
    (entry,) = d.last_ids()
    d.fill(entry, 100_310)
    # 1.5 deviations (1.50) above the 1003.10 fill: 1004.60
    assert d.sent() == [(KEY, "BUY", 10, "SL_M", 0, 100_460, "I")]
    (stop,) = d.last_ids()
    return d, stop, ts


def test_a_confirmed_stretch_above_vwap_is_sold_and_bought_back_at_vwap() -> None:
    d, stop, ts = shorted()
    stretch(d, ts + 10**9, 100_050, 0.0, NONE)  # on its way back, not there yet
    assert d.sent() == []
    stretch(d, ts + 2 * 10**9, 100_000, 0.0, NONE)  # at VWAP
    assert d.sent() == [("CANCEL", stop)]
    d.answer(stop, OrderStatus.CANCELLED)
    assert d.sent() == [(KEY, "BUY", 10, "MARKET", 0, 0, "I")]
    (close,) = d.last_ids()
    d.fill(close, 100_000)
    assert d.ctx.position(KEY).net_quantity == 0
    assert d.ctx.pnl().realised == 10 * 310


@pytest.mark.parametrize(
    ("ltp", "imbalance", "aggressor"),
    [
        (100_300, -0.5, BUY),  # buyers still lifting the offer
        (100_300, 0.0, SELL),  # the book does not lean
        (100_150, -0.5, SELL),  # only 1.5 deviations
    ],
)
def test_no_entry_without_the_stretch_or_the_exhaustion(
    ltp: int, imbalance: float, aggressor: AggressorSide
) -> None:
    d = Driver(VwapReversion(), BASE, start=ist(9, 49))
    ts = warm_up(d)
    stretch(d, ts, ltp, imbalance, aggressor)
    assert d.sent() == []


def test_a_stretch_below_vwap_is_bought_with_a_stop_below() -> None:
    d = Driver(VwapReversion(), BASE, start=ist(9, 49))
    ts = warm_up(d)
    stretch(d, ts, 99_700, 0.4, BUY)
    assert d.sent() == [(KEY, "BUY", 10, "MARKET", 0, 0, "I")]
    (entry,) = d.last_ids()
    d.fill(entry, 99_702)
    # 997.02 - 1.50 = 995.52, down to the tick: 995.50
    assert d.sent() == [(KEY, "SELL", 10, "SL_M", 0, 99_550, "I")]


def test_the_stop_ends_the_trade_then_a_cooldown_then_at_most_max_trades() -> None:
    d, stop, ts = shorted()
    d.fill(stop, 100_460)
    assert d.ctx.position(KEY).net_quantity == 0
    stretch(d, ts + 60 * 10**9, 100_300, -0.5, SELL)  # a minute later: cooling down
    assert d.sent() == []
    t = ts + 6 * 60 * 10**9
    d.clock.set_ns(t)
    ts2 = warm_up(d, 9, 56)  # the samples since have been tame again
    stretch(d, ts2, 100_300, -0.5, SELL)
    assert d.sent() == [(KEY, "SELL", 10, "MARKET", 0, 0, "I")]
    assert d.ctx.state["vwap_reversion"] == {"day": "2026-12-07", "count": {KEY: 2}}


def test_max_trades_per_name_caps_the_day() -> None:
    d = Driver(VwapReversion(), {**BASE, "max_trades_per_name": 1}, start=ist(9, 49))
    ts = warm_up(d)
    stretch(d, ts, 100_300, -0.5, SELL)
    (entry,) = d.last_ids()
    d.sent()
    d.answer(entry, OrderStatus.REJECTED)
    ts2 = warm_up(d, 10, 30)
    stretch(d, ts2, 100_300, -0.5, SELL)
    assert d.sent() == []


def test_entries_only_between_start_at_and_last_entry_at() -> None:
    d = Driver(VwapReversion(), BASE, start=ist(9, 30))
    ts = warm_up(d, 9, 40)
    stretch(d, ts, 100_300, -0.5, SELL)  # 09:40: before 09:45
    ts = warm_up(d, 14, 50)
    stretch(d, ts, 100_300, -0.5, SELL)  # 14:50: after 14:45
    assert d.sent() == []


def test_only_the_configured_instruments_are_traded() -> None:
    d = Driver(VwapReversion(), BASE, start=ist(9, 49))
    ts = warm_up(d, key=KEY2)
    d.enriched(enriched_tick(ts, 100_300, key=KEY2, vwap=VWAP, imbalance=-0.5, aggressor=SELL))
    assert d.sent() == []


def test_square_off_at_1510_cancels_the_stop_then_closes() -> None:
    d, stop, _ = shorted()
    d.at(15, 10)
    assert d.sent() == [("CANCEL", stop)]
    d.answer(stop, OrderStatus.CANCELLED)
    assert d.sent() == [(KEY, "BUY", 10, "MARKET", 0, 0, "I")]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"instruments": []}, "instruments"),
        ({"instruments": ["RELIANCE"]}, "'RELIANCE' is not an instrument key"),
        ({"k": -1}, "k"),
        ({"min_imbalance": 1.5}, "min_imbalance"),
        ({"start_at": "15:00"}, "need 09:15 <= start_at (15:00) < last_entry_at (14:45)"),
        ({"square_off_at": "15:20"}, "before the execution service's MIS square-off at 15:15"),
    ],
)
def test_invalid_params_are_refused_with_a_clear_message(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidParams, match="VwapReversionParams") as e:
        Driver(VwapReversion(), params)
    assert message in str(e.value)
