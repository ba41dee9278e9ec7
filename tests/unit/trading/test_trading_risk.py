"""Pre-trade risk, one rule at a time: each refusal carries its reason code and a message."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from risk_builders import (
    EQ_KEY,
    EQ_QUOTE,
    FO_KEY,
    INDEX,
    NOW,
    OPTION,
    at,
    fo_snapshot,
    intent,
    snapshot,
)

from quant.core.orders import OrderType, Side
from quant.trading import Product, Validity
from quant.trading.risk import Accepted, Rejected, check, child_quantities, ist_date
from quant.trading.risk_limits import FreezePolicy, RejectReason, RiskLimits, StrategyLimits
from quant.trading.snapshot import DayPnl, PositionView, Quote, WorkingOrder
from quant.trading.state import TradingState

R = RejectReason
LIMITS = RiskLimits()


def reason(result: Accepted | Rejected) -> RejectReason:
    assert isinstance(result, Rejected), f"expected a rejection, got {result}"
    assert result.message  # a person can read why
    return result.reason


def accepted(result: Accepted | Rejected) -> Accepted:
    assert isinstance(result, Accepted), f"expected acceptance, got {result}"
    return result


def test_a_plain_limit_order_in_market_hours_is_accepted_as_one_child() -> None:
    ok = accepted(check(intent(), snapshot(), LIMITS))
    assert [c.intent for c in ok.children] == [intent()]
    assert ok.reference_price == 250_000
    assert not ok.children[0].is_amo
    assert ok.children[0].market_protection_pct == 0


# --- instrument ------------------------------------------------------------------------------


def test_unknown_instrument() -> None:
    assert reason(check(intent(), snapshot(instrument=None), LIMITS)) is R.UNKNOWN_INSTRUMENT
    # a master row for another key does not count
    assert reason(check(intent(), snapshot(instrument=OPTION), LIMITS)) is R.UNKNOWN_INSTRUMENT


def test_an_index_is_not_tradable() -> None:
    i = intent(key=INDEX.instrument_key)
    assert reason(check(i, snapshot(instrument=INDEX), LIMITS)) is R.NOT_TRADABLE


def test_an_expired_contract_is_refused_and_trades_on_its_expiry_day() -> None:
    i = intent(qty=75, price=10_000, key=FO_KEY)
    expiry_day = at(10, 0, day=date(2026, 12, 29))
    ok = check(
        i,
        fo_snapshot(now_ns=expiry_day, quote=Quote(10_000, ts_event=expiry_day)),
        LIMITS,
    )
    accepted(ok)
    day_after = at(10, 0, day=date(2026, 12, 30))
    late = fo_snapshot(now_ns=day_after, quote=Quote(10_000, ts_event=day_after))
    assert reason(check(i, late, LIMITS)) is R.INSTRUMENT_EXPIRED


def test_the_ist_date_changes_at_ist_midnight_not_utc() -> None:
    assert ist_date(at(0, 1, day=date(2026, 12, 8))) == date(2026, 12, 8)  # 18:31 UTC on the 7th
    assert ist_date(at(23, 59, day=DAY_)) == DAY_


DAY_ = date(2026, 12, 7)


# --- market hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expect"),
    [
        (at(9, 15), "regular"),
        (at(15, 29, 59), "regular"),
        (at(9, 0), "regular"),  # cash pre-open order entry
        (at(9, 10), R.MARKET_CLOSED),  # pre-open matching: no entry
        (at(15, 30), R.MARKET_CLOSED),  # closed, not yet AMO time
        (at(15, 59, 59), R.MARKET_CLOSED),
        (at(16, 0), "amo"),
        (at(8, 59, 59), "amo"),
        (at(11, 0, day=date(2026, 12, 12)), "amo"),  # Saturday
        (at(11, 0, day=date(2026, 12, 25)), "amo"),  # Christmas
    ],
)
def test_market_hours_from_the_nse_calendar(when: int, expect: object) -> None:
    snap = snapshot(now_ns=when, quote=EQ_QUOTE)
    result = check(intent(), snap, RiskLimits(max_quote_age_ns=0))
    if expect == "regular":
        assert not accepted(result).children[0].is_amo
    elif expect == "amo":
        assert accepted(result).children[0].is_amo
        no_amo = check(intent(), snap, RiskLimits(allow_amo=False, max_quote_age_ns=0))
        assert reason(no_amo) is R.MARKET_CLOSED
    else:
        assert reason(result) is expect


def test_an_amo_does_not_need_a_fresh_quote_but_a_regular_order_does() -> None:
    overnight = Quote(250_000, ts_event=at(9, 30))
    amo = check(intent(), snapshot(now_ns=at(20, 0), quote=overnight), LIMITS)
    assert accepted(amo).children[0].is_amo
    day = check(intent(), snapshot(now_ns=at(10, 0), quote=overnight), LIMITS)
    assert reason(day) is R.NO_QUOTE


def test_derivatives_have_no_pre_open_entry_and_ioc_is_never_amo() -> None:
    i = intent(qty=75, price=10_000, key=FO_KEY)
    assert reason(check(i, fo_snapshot(now_ns=at(9, 0)), LIMITS)) is R.MARKET_CLOSED
    ioc = intent(validity=Validity.IOC)
    result = check(ioc, snapshot(now_ns=at(20, 0)), LIMITS)
    assert reason(result) is R.MARKET_CLOSED
    assert "IOC" in result.message  # type: ignore[union-attr]


def test_a_holiday_names_itself_when_amo_is_off() -> None:
    snap = snapshot(now_ns=at(11, 0, day=date(2026, 12, 25)))
    result = check(intent(), snap, RiskLimits(allow_amo=False))
    assert reason(result) is R.MARKET_CLOSED
    assert "Christmas" in result.message  # type: ignore[union-attr]


# --- lot, tick, quote, band ------------------------------------------------------------------


def test_quantity_must_be_whole_lots() -> None:
    assert reason(check(intent(qty=74, price=10_000, key=FO_KEY), fo_snapshot(), LIMITS)) is (
        R.LOT_SIZE
    )
    accepted(check(intent(qty=150, price=10_000, key=FO_KEY), fo_snapshot(), LIMITS))


def test_price_and_trigger_must_be_on_the_tick() -> None:
    assert reason(check(intent(price=250_005), snapshot(), LIMITS)) is R.TICK_SIZE
    sl = intent(Side.SELL, order_type=OrderType.SL, price=249_000, trigger=249_005)
    assert reason(check(sl, snapshot(), LIMITS)) is R.TICK_SIZE
    slm = intent(Side.SELL, order_type=OrderType.SL_M, price=0, trigger=249_010)
    accepted(check(slm, snapshot(), LIMITS))


def test_a_missing_or_stale_quote_is_refused() -> None:
    assert reason(check(intent(), snapshot(quote=None), LIMITS)) is R.NO_QUOTE
    old = Quote(250_000, ts_event=NOW - 6_000_000_000)
    assert reason(check(intent(), snapshot(quote=old), LIMITS)) is R.NO_QUOTE
    accepted(check(intent(), snapshot(quote=old), RiskLimits(max_quote_age_ns=0)))


def test_prices_outside_the_circuit_limits_are_refused() -> None:
    assert reason(check(intent(price=275_010), snapshot(), LIMITS)) is R.PRICE_BAND
    assert reason(check(intent(price=224_990), snapshot(), LIMITS)) is R.PRICE_BAND
    accepted(check(intent(price=275_000), snapshot(), LIMITS))
    stop = intent(order_type=OrderType.SL_M, price=0, trigger=280_000)
    assert reason(check(stop, snapshot(), LIMITS)) is R.PRICE_BAND
    no_band = Quote(250_000, ts_event=NOW)
    accepted(check(intent(price=400_000), snapshot(quote=no_band), LIMITS))


# --- market protection ---------------------------------------------------------------------


def test_market_orders_get_a_protection_limit_beyond_the_touch() -> None:
    buy = accepted(check(intent(order_type=OrderType.MARKET, price=0), snapshot(), LIMITS))
    # 5% above the best ask ₹2500.10 = ₹2625.105 -> down to the 10-paise tick
    assert buy.reference_price == 262_510
    assert buy.children[0].protection_price == 262_510
    assert buy.children[0].market_protection_pct == 5
    sell = accepted(
        check(intent(Side.SELL, order_type=OrderType.MARKET, price=0), snapshot(), LIMITS)
    )
    # 5% below the best bid ₹2499.90 = ₹2374.905 -> up to the tick
    assert sell.reference_price == 237_500


def test_protection_is_clipped_to_the_circuit_and_falls_back_to_ltp() -> None:
    near_top = Quote(270_000, best_bid=0, best_ask=0, upper_circuit=275_000, ts_event=NOW)
    buy = accepted(
        check(intent(order_type=OrderType.MARKET, price=0), snapshot(quote=near_top), LIMITS)
    )
    assert buy.reference_price == 275_000  # 5% over LTP is 283,500: capped
    empty = Quote(0, ts_event=NOW)
    result = check(intent(order_type=OrderType.MARKET, price=0), snapshot(quote=empty), LIMITS)
    assert reason(result) is R.NO_QUOTE


def test_sl_m_is_protected_from_its_trigger() -> None:
    slm = intent(Side.SELL, order_type=OrderType.SL_M, price=0, trigger=240_000)
    ok = accepted(check(slm, snapshot(), RiskLimits(market_protection_pct=2)))
    assert ok.reference_price == 235_200  # 2% below the trigger
    assert ok.children[0].market_protection_pct == 2


# --- order value and positions ---------------------------------------------------------------


def test_max_order_value() -> None:
    limits = RiskLimits(max_order_value=2_500_000)  # ₹25,000
    accepted(check(intent(qty=10), snapshot(), limits))  # exactly ₹25,000
    assert reason(check(intent(qty=11), snapshot(), limits)) is R.ORDER_VALUE


def test_account_position_limits_count_working_orders_on_the_same_side() -> None:
    limits = RiskLimits(max_position_quantity=100)
    held = (PositionView("orb", Product.INTRADAY, 60), PositionView("mr", Product.DELIVERY, 30))
    working = (WorkingOrder("mr", EQ_KEY, Product.DELIVERY, Side.BUY, 5),)
    snap = snapshot(positions=held, working_orders=working)
    accepted(check(intent(qty=5), snap, limits))  # 60 + 30 + 5 + 5 = 100
    assert reason(check(intent(qty=6), snap, limits)) is R.POSITION_QUANTITY
    # a sell that flips to a short of 100 is within the limit, 101 is not
    accepted(check(intent(Side.SELL, qty=190), snap, limits))
    assert reason(check(intent(Side.SELL, qty=191), snap, limits)) is R.POSITION_QUANTITY


def test_orders_that_shrink_an_oversized_position_pass_the_position_limits() -> None:
    limits = RiskLimits(max_position_quantity=10, max_position_value=1)
    snap = snapshot(positions=(PositionView("orb", Product.INTRADAY, 500),))
    accepted(check(intent(Side.SELL, qty=100), snap, limits))
    assert reason(check(intent(qty=1), snap, limits)) is R.POSITION_QUANTITY


def test_account_position_value() -> None:
    limits = RiskLimits(max_position_value=5_000_000)  # ₹50,000 = 20 x ₹2500
    accepted(check(intent(qty=20), snapshot(), limits))
    assert reason(check(intent(qty=21), snapshot(), limits)) is R.POSITION_VALUE


def test_strategy_position_quantity_and_exposure() -> None:
    limits = RiskLimits(
        strategies={"orb": StrategyLimits(max_position_quantity=15, max_exposure=10_000_000)}
    )
    snap = snapshot(
        positions=(
            PositionView("orb", Product.INTRADAY, 5),
            PositionView("mr", Product.INTRADAY, 50),
        )
    )
    accepted(check(intent(qty=10), snap, limits))
    assert reason(check(intent(qty=11), snap, limits)) is R.STRATEGY_POSITION_QUANTITY
    accepted(check(intent(qty=11, strategy="mr"), snap, limits))  # default: no limit
    busy = snapshot(strategy_other_exposure=8_000_000)  # ₹80,000 elsewhere
    accepted(check(intent(qty=8), busy, limits))  # + 8 x ₹2500 = ₹100,000
    assert reason(check(intent(qty=9), busy, limits)) is R.STRATEGY_EXPOSURE


def test_max_open_orders_counts_the_child_orders() -> None:
    working = tuple(
        WorkingOrder("orb", "NSE_EQ|OTHER", Product.INTRADAY, Side.BUY, 1) for _ in range(3)
    )
    limits = RiskLimits(max_open_orders=4)
    accepted(check(intent(), snapshot(working_orders=working), limits))
    big = intent(qty=1_875, price=10_000, key=FO_KEY)  # two children at freeze 1800
    assert reason(check(big, fo_snapshot(working_orders=working), limits)) is R.OPEN_ORDERS


# --- freeze quantity -------------------------------------------------------------------------


def test_above_the_freeze_quantity_orders_split_into_whole_lot_children() -> None:
    big = intent(qty=75 * 50, price=10_000, key=FO_KEY)  # 3750 units, freeze 1800
    ok = accepted(check(big, fo_snapshot(), LIMITS))
    assert [c.intent.quantity for c in ok.children] == [1_800, 1_800, 150]
    assert {c.intent.price for c in ok.children} == {10_000}
    refuse = RiskLimits(freeze_policy=FreezePolicy.REJECT)
    assert reason(check(big, fo_snapshot(), refuse)) is R.FREEZE_QUANTITY
    accepted(check(intent(qty=1_800, price=10_000, key=FO_KEY), fo_snapshot(), refuse))


def test_more_than_25_children_is_refused() -> None:
    ok = intent(qty=1_800 * 25, price=10_000, key=FO_KEY)
    assert len(accepted(check(ok, fo_snapshot(), LIMITS)).children) == 25
    too_many = intent(qty=1_800 * 25 + 75, price=10_000, key=FO_KEY)
    assert reason(check(too_many, fo_snapshot(), LIMITS)) is R.FREEZE_QUANTITY


def test_child_quantities() -> None:
    assert child_quantities(100, 1, 0) == (100,)
    assert child_quantities(100, 1, 40) == (40, 40, 20)
    assert child_quantities(150, 75, 100) == (75, 75)  # the largest whole lots under freeze
    assert child_quantities(150, 75, 50) == ()  # a single lot is above the freeze quantity


# --- trading state and daily loss ------------------------------------------------------------


def test_halted_account_or_strategy_refuses_everything() -> None:
    for snap in (
        snapshot(account_state=TradingState.HALTED),
        snapshot(strategy_state=TradingState.HALTED),
    ):
        assert reason(check(intent(), snap, LIMITS)) is R.HALTED
        held = dataclasses.replace(snap, positions=(PositionView("orb", Product.INTRADAY, 10),))
        assert reason(check(intent(Side.SELL), held, LIMITS)) is R.HALTED


def test_reducing_allows_only_position_reducing_orders() -> None:
    held = (PositionView("orb", Product.INTRADAY, 10),)
    snap = snapshot(strategy_state=TradingState.REDUCING, positions=held)
    accepted(check(intent(Side.SELL, qty=10), snap, LIMITS))
    assert reason(check(intent(Side.SELL, qty=11), snap, LIMITS)) is R.REDUCING_ONLY  # flips
    assert reason(check(intent(Side.BUY, qty=1), snap, LIMITS)) is R.REDUCING_ONLY  # grows
    other_product = intent(Side.SELL, qty=5, product=Product.DELIVERY)
    assert reason(check(other_product, snap, LIMITS)) is R.REDUCING_ONLY
    working = (WorkingOrder("orb", EQ_KEY, Product.INTRADAY, Side.SELL, 6),)
    pending = snapshot(strategy_state=TradingState.REDUCING, positions=held, working_orders=working)
    accepted(check(intent(Side.SELL, qty=4), pending, LIMITS))
    assert reason(check(intent(Side.SELL, qty=5), pending, LIMITS)) is R.REDUCING_ONLY


def test_account_reducing_is_judged_on_the_account_position() -> None:
    # strategy "mr" is flat, but the account is long through "orb": mr's sell reduces the
    # account's position, and the account (not mr) is the one reducing
    held = (PositionView("orb", Product.INTRADAY, 10),)
    snap = snapshot(account_state=TradingState.REDUCING, positions=held)
    accepted(check(intent(Side.SELL, qty=10, strategy="mr"), snap, LIMITS))
    both = snapshot(
        account_state=TradingState.REDUCING, strategy_state=TradingState.REDUCING, positions=held
    )
    assert reason(check(intent(Side.SELL, qty=10, strategy="mr"), both, LIMITS)) is (
        R.REDUCING_ONLY
    )


def test_daily_loss_switches_to_reducing_only() -> None:
    limits = RiskLimits(
        max_daily_loss=1_000_000, strategies={"orb": StrategyLimits(max_daily_loss=200_000)}
    )
    held = (PositionView("orb", Product.INTRADAY, 10),)
    lost = snapshot(strategy_pnl=DayPnl(realised=-150_000, unrealised=-40_000, charges=10_000))
    assert reason(check(intent(), lost, limits)) is R.DAILY_LOSS
    accepted(check(intent(), lost, RiskLimits()))
    reducing = snapshot(positions=held, strategy_pnl=lost.strategy_pnl)
    accepted(check(intent(Side.SELL, qty=10), reducing, limits))
    almost = snapshot(strategy_pnl=DayPnl(realised=-150_000, unrealised=-40_000, charges=9_999))
    accepted(check(intent(), almost, limits))
    account = snapshot(account_pnl=DayPnl(realised=-1_000_000))
    assert reason(check(intent(strategy="mr"), account, limits)) is R.DAILY_LOSS


def test_rejection_messages_name_the_numbers() -> None:
    result = check(intent(qty=11), snapshot(), RiskLimits(max_order_value=2_500_000))
    assert isinstance(result, Rejected)
    assert "₹27500.00" in result.message and "₹25000.00" in result.message
    lot = check(intent(qty=74, price=10_000, key=FO_KEY), fo_snapshot(), LIMITS)
    assert isinstance(lot, Rejected)
    assert "74" in lot.message and "75" in lot.message and "NIFTY 26000 CE" in lot.message
