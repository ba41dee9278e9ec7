"""The short straddle example: ATM legs of the nearest expiry in lots, premium stop, greeks."""

from __future__ import annotations

from datetime import date

import pytest
from examples_kit import Driver, enriched_tick
from strategy_kit import ist

from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderStatus
from quant.core.symbols import InstrumentIndex
from quant.strategy.examples.short_straddle import ShortStraddle
from quant.trading.strategy import InvalidParams

NIFTY = "NSE_INDEX|Nifty 50"
LOT = 65
TUE, NEXT_TUE = date(2026, 12, 8), date(2026, 12, 15)  # the day under test is Mon 7 Dec


def key(strike: int, kind: str, expiry: date = TUE) -> str:
    """NSE_FO|<token>: 1 + day of month, strike, 1 for a call / 2 for a put."""
    return f"NSE_FO|{expiry.day}{strike}{1 if kind == 'CE' else 2}"


def master() -> InstrumentIndex:
    rows = [Instrument(NIFTY, "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX)]
    for expiry in (TUE, NEXT_TUE):
        for strike in (25_900, 26_000, 26_100):
            for kind in ("CE", "PE"):
                rows.append(
                    Instrument(
                        key(strike, kind, expiry), f"NIFTY {strike} {kind} {expiry:%d %b %y}",
                        "NIFTY", "NSE", "NSE_FO", InstrumentType(kind), lot_size=LOT,
                        freeze_quantity=1_800, expiry=expiry, strike_paise=strike * 100,
                        underlying_key=NIFTY, underlying_symbol="NIFTY", weekly=True,
                    )
                )  # fmt: skip
    rows.append(  # a put without its call: never the ATM strike
        Instrument(key(26_050, "PE"), "NIFTY 26050 PE", "NIFTY", "NSE", "NSE_FO",
                   InstrumentType.PUT, lot_size=LOT, expiry=TUE, strike_paise=2_605_000,
                   underlying_key=NIFTY)
    )  # fmt: skip
    return InstrumentIndex.build(rows)


CE, PE = key(26_000, "CE"), key(26_000, "PE")


def straddle(params: dict[str, object] | None = None, *, index: float = 26_040.0) -> Driver:
    """The index at ``index`` at 09:29, the 09:30 entry timer fired."""
    d = Driver(ShortStraddle(), {"lots": 2, **(params or {})}, instruments=master())
    d.enriched(enriched_tick(ist(9, 29), round(index * 100), key=NIFTY))
    d.at(9, 29, 59)
    assert d.sent() == []
    d.at(9, 30)
    return d


def sold(params: dict[str, object] | None = None) -> Driver:
    """Both legs of the 26000 straddle sold: the call at 120.00, the put at 100.00."""
    d = straddle(params)
    assert d.sent() == [
        (CE, "SELL", 130, "MARKET", 0, 0, "I"),
        (PE, "SELL", 130, "MARKET", 0, 0, "I"),
    ]
    call, put = d.last_ids(2)
    d.fill(call, 12_000)
    d.fill(put, 10_000)
    assert d.sent() == []
    return d


def legs(d: Driver, ss: int, call: int, put: int, dc: float = 0.5, dp: float = -0.5) -> None:
    """Enriched ticks of both legs at 10:00:ss with their prices and deltas."""
    d.enriched(enriched_tick(ist(10, 0, ss), call, key=CE, delta=dc))
    d.enriched(enriched_tick(ist(10, 0, ss), put, key=PE, delta=dp))


BUY_BACK = [(CE, "BUY", 130, "MARKET", 0, 0, "I"), (PE, "BUY", 130, "MARKET", 0, 0, "I")]


def test_sells_the_atm_straddle_of_the_nearest_expiry_in_lots() -> None:
    d = sold()
    assert d.ctx.position(CE).net_quantity == -2 * LOT
    assert d.ctx.position(PE).net_quantity == -2 * LOT


def test_the_combined_premium_stop_buys_both_legs_back() -> None:
    d = sold()  # 220.00 combined: the +30% stop is at 286.00
    legs(d, 1, 15_000, 12_000)
    legs(d, 2, 16_595, 12_000)
    assert d.sent() == []
    legs(d, 3, 16_600, 12_000)
    assert d.sent() == BUY_BACK
    for cid, price in zip(d.last_ids(2), (16_600, 12_000), strict=True):
        d.fill(cid, price)
    assert d.ctx.positions() == []
    assert d.ctx.pnl().realised == 130 * (22_000 - 28_600)
    legs(d, 4, 20_000, 15_000)
    d.at(15, 10)
    assert d.sent() == []  # done for the day


def test_an_optional_target_takes_the_decay() -> None:
    d = sold({"target_pct": 50})
    legs(d, 1, 6_000, 5_005)
    assert d.sent() == []
    legs(d, 2, 6_000, 5_000)  # 110.00: half of 220.00
    assert d.sent() == BUY_BACK


def test_delta_drift_beyond_the_limit_exits_and_unknown_greeks_do_nothing() -> None:
    d = sold()
    legs(d, 1, 12_500, 9_500, float("nan"), float("nan"))
    legs(d, 2, 12_500, 9_500, 0.70, -0.45)  # +0.25: at the limit
    assert d.sent() == []
    legs(d, 3, 12_600, 9_400, 0.70, -0.44)  # +0.26
    assert d.sent() == BUY_BACK


def test_delta_drift_with_adjust_rolls_to_the_new_atm_strike_once() -> None:
    d = sold({"on_delta": "adjust", "max_adjustments": 1})
    d.enriched(enriched_tick(ist(10, 0), 2_611_000, key=NIFTY))  # the index is at 26110.00
    legs(d, 1, 15_000, 6_000, 0.66, -0.34)  # +0.32
    assert d.sent() == BUY_BACK
    call, put = d.last_ids(2)
    d.fill(call, 15_000)
    assert d.sent() == []  # the new straddle waits until both legs are bought back
    d.fill(put, 6_000)
    ce2, pe2 = key(26_100, "CE"), key(26_100, "PE")
    assert d.sent() == [
        (ce2, "SELL", 130, "MARKET", 0, 0, "I"),
        (pe2, "SELL", 130, "MARKET", 0, 0, "I"),
    ]
    call, put = d.last_ids(2)
    d.fill(call, 11_000)
    d.fill(put, 11_000)
    assert d.ctx.state["straddle"] == {"day": "2026-12-07", "adjustments": 1}
    d.enriched(enriched_tick(ist(11, 0), 11_500, key=ce2, delta=0.1))
    d.enriched(enriched_tick(ist(11, 0), 10_500, key=pe2, delta=-0.5))  # -0.40: no rolls left
    assert d.sent() == [
        (ce2, "BUY", 130, "MARKET", 0, 0, "I"),
        (pe2, "BUY", 130, "MARKET", 0, 0, "I"),
    ]


def test_adjust_exits_instead_of_rolling_to_the_same_strike() -> None:
    d = sold({"on_delta": "adjust"})
    legs(d, 1, 14_000, 8_000, 0.62, -0.35)  # +0.27, the index still nearest 26000
    assert d.sent() == BUY_BACK
    for cid in d.last_ids(2):
        d.fill(cid, 10_000)
    assert d.sent() == []
    assert d.ctx.state["straddle"] == {"day": "2026-12-07", "adjustments": 0}


def test_square_off_at_1510_buys_both_legs_back() -> None:
    d = sold()
    legs(d, 1, 11_000, 9_000)
    d.at(15, 9, 59)
    assert d.sent() == []
    d.at(15, 10)
    assert d.sent() == BUY_BACK


def test_a_rejected_leg_gets_the_other_one_bought_back() -> None:
    d = straddle()
    d.sent()
    call, put = d.last_ids(2)
    d.fill(call, 12_000)
    assert d.sent() == []
    d.answer(put, OrderStatus.REJECTED)
    assert d.sent() == [(CE, "BUY", 130, "MARKET", 0, 0, "I")]


def test_min_days_to_expiry_skips_the_nearest_expiry() -> None:
    d = straddle({"min_days_to_expiry": 2, "lots": 1}, index=25_930.0)
    ce, pe = key(25_900, "CE", NEXT_TUE), key(25_900, "PE", NEXT_TUE)
    assert d.sent() == [
        (ce, "SELL", LOT, "MARKET", 0, 0, "I"),
        (pe, "SELL", LOT, "MARKET", 0, 0, "I"),
    ]


def test_without_an_instrument_master_or_an_index_price_there_is_no_trade() -> None:
    d = Driver(ShortStraddle(), {})
    d.enriched(enriched_tick(ist(9, 29), 2_604_000, key=NIFTY))
    d.at(9, 30)
    assert d.sent() == []
    d = Driver(ShortStraddle(), {}, instruments=master())
    d.at(9, 30)
    assert d.sent() == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lots": 0}, "lots"),
        ({"stop_pct": 0}, "stop_pct"),
        ({"on_delta": "hedge"}, "on_delta"),
        ({"exit_at": "15:20"}, "before the execution service's MIS square-off at 15:15"),
        ({"entry_at": "09:00"}, "need 09:15 <= entry_at (09:00) < exit_at (15:10)"),
        ({"underlying_key": "NIFTY"}, "'NIFTY' is not an instrument key"),
    ],
)
def test_invalid_params_are_refused_with_a_clear_message(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidParams, match="ShortStraddleParams") as e:
        Driver(ShortStraddle(), params)
    assert message in str(e.value)
