"""Indian per-trade charges: every worked example of shared/CHARGES.md to the paisa.

§6A is quoted from the Zerodha calculator (checked with the Zerodha tariff), §6B is
Upstox's brokerage API sample, §7 are the Upstox examples computed in CHARGES.md.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from quant.core.instruments import Instrument, InstrumentType
from quant.core.money import decimal_to_paise
from quant.core.orders import Side
from quant.trading.charges import (
    ChargeBreakdown,
    ChargesError,
    DayCharges,
    Fill,
    RateNotFoundError,
    charges_for_fill,
    rate_class_for,
    upstox_charges_payload,
)
from quant.trading.charges_rates import UPSTOX, ZERODHA, BrokerageRule, Market, Tariff

EQ, FUT, CE = InstrumentType.EQUITY, InstrumentType.FUTURE, InstrumentType.CALL
BUY, SELL = Side.BUY, Side.SELL
APR26 = date(2026, 4, 15)  # rates from 1 Apr 2026
FY26 = date(2025, 6, 2)  # Oct 2024 - Mar 2026 rates


def rs(rupees: str) -> int:
    return decimal_to_paise(rupees)


def breakdown(**rupees: str) -> ChargeBreakdown:
    return ChargeBreakdown(**{k: rs(v) for k, v in rupees.items()})


def round_trip(
    key: str,
    kind: InstrumentType,
    product: str,
    qty: int,
    buy_rupees: str,
    sell_rupees: str,
    on: date,
    tariff: Tariff = UPSTOX,
    *,
    charge_dp: bool = False,
) -> DayCharges:
    """A buy order then a sell order of ``qty``, each filled in one trade."""
    day = DayCharges(on, tariff, charge_dp=charge_dp)
    day.add(Fill(key, kind, product, BUY, qty, rs(buy_rupees), on, "buy-1"))
    day.add(Fill(key, kind, product, SELL, qty, rs(sell_rupees), on, "sell-1"))
    return day


STOCK = "NSE_EQ|INE002A01018"
NIFTY_FUT = "NSE_FO|52910"
NIFTY_CE = "NSE_FO|40125"


# --- CHARGES.md §7: Upstox, NSE, rates from 1 Apr 2026 ---------------------------------


def test_upstox_intraday_round_trip_example_1() -> None:
    day = round_trip(STOCK, EQ, "I", 100, "1000", "1010", APR26)
    expected = breakdown(
        brokerage="40",
        stt="25",
        exchange="5.97",
        ipft="0.20",
        sebi="0.20",
        stamp="3.00",
        gst="8.31",
    )
    assert day.total() == expected
    assert day.total().total == rs("82.68")


def test_upstox_delivery_buy_example_2a() -> None:
    got = charges_for_fill("NSE_EQ", EQ, "D", BUY, 100, rs("1000"), APR26)
    assert got == breakdown(
        brokerage="20",
        stt="100",
        exchange="2.97",
        ipft="0.10",
        sebi="0.10",
        stamp="15.00",
        gst="4.15",
    )
    assert got.total == rs("142.32")


def test_upstox_delivery_sell_example_2b_with_and_without_dp() -> None:
    quote = charges_for_fill("NSE_EQ", EQ, "D", SELL, 100, rs("1100"), APR26)
    assert quote == breakdown(
        brokerage="20", stt="110", exchange="3.27", ipft="0.11", sebi="0.11", gst="4.21"
    )
    assert quote.total == rs("137.70")
    with_dp = charges_for_fill("NSE_EQ", EQ, "D", SELL, 100, rs("1100"), APR26, include_dp=True)
    assert with_dp.dp == rs("18.50")
    assert with_dp.gst - quote.gst == rs("3.33")  # DP's GST: 21.83 with DP
    assert with_dp.total == rs("159.53")


def test_upstox_nifty_future_example_3_and_before_april_2026() -> None:
    day = round_trip(NIFTY_FUT, FUT, "D", 65, "25000", "25100", APR26)
    assert day.total() == breakdown(
        brokerage="40",
        stt="816",
        exchange="56.34",
        ipft="3.26",
        sebi="3.26",
        stamp="32.50",
        gst="17.93",
    )
    assert day.total().total == rs("969.29")
    before = round_trip(NIFTY_FUT, FUT, "D", 65, "25000", "25100", date(2026, 3, 31))
    assert before.total().total == rs("479.29")


def test_upstox_nifty_option_example_4_and_before_april_2026() -> None:
    day = round_trip(NIFTY_CE, CE, "D", 65, "100", "110", APR26)
    assert day.total() == breakdown(
        brokerage="40",
        stt="11",
        exchange="4.78",
        ipft="0.07",
        sebi="0.01",
        stamp="0.20",
        gst="8.06",
    )
    assert day.total().total == rs("64.12")
    before = round_trip(NIFTY_CE, CE, "I", 65, "100", "110", date(2026, 3, 31))
    assert before.total().total == rs("60.12")


@pytest.mark.parametrize(
    ("key", "kind", "product", "qty", "buy", "sell", "total"),
    [
        (STOCK, EQ, "I", 100, "1000", "1010", "82.72"),
        (STOCK, EQ, "D", 100, "1000", "1100", "232.86"),
        (NIFTY_FUT, FUT, "D", 65, "25000", "25100", "970.37"),
        (NIFTY_CE, CE, "D", 65, "100", "110", "63.93"),
    ],
)
def test_same_trades_with_zerodha_rules(
    key: str, kind: InstrumentType, product: str, qty: int, buy: str, sell: str, total: str
) -> None:
    day = round_trip(key, kind, product, qty, buy, sell, APR26, ZERODHA)
    assert day.total().total == rs(total)


# --- CHARGES.md §6A: the Zerodha calculator, buy = sell = Rs 1,000 x 500 ----------------


@pytest.mark.parametrize(
    ("key", "kind", "product", "on", "row"),
    [
        (STOCK, EQ, "I", FY26, ("40", "125", "30.70", "1.00", "15", "12.91", "224.61")),
        (STOCK, EQ, "D", FY26, ("0", "1000", "30.70", "1.00", "75", "5.71", "1112.41")),
        (NIFTY_FUT, FUT, "D", FY26, ("40", "100", "18.30", "1.00", "10", "10.67", "179.97")),
        (NIFTY_CE, CE, "D", FY26, ("40", "500", "355.30", "1.00", "15", "71.33", "982.63")),
        (NIFTY_FUT, FUT, "D", APR26, ("40", "250", "18.30", "1.00", "10", "10.67", "329.97")),
        (NIFTY_CE, CE, "D", APR26, ("40", "750", "355.30", "1.00", "15", "71.33", "1232.63")),
    ],
)
def test_zerodha_calculator_example_6a(
    key: str, kind: InstrumentType, product: str, on: date, row: tuple[str, ...]
) -> None:
    brokerage, stt, exch_ipft, sebi, stamp, gst, total = map(rs, row)
    got = round_trip(key, kind, product, 500, "1000", "1000", on, ZERODHA).total()
    assert (got.brokerage, got.stt, got.exchange + got.ipft, got.sebi, got.stamp, got.gst) == (
        brokerage,
        stt,
        exch_ipft,
        sebi,
        stamp,
        gst,
    )
    assert got.total == total


# --- CHARGES.md §6B: Upstox's brokerage API sample (FY2023-24 rates) ------------------


def test_upstox_api_sample_6b() -> None:
    """Free delivery and GST on the transaction charge only, as that sample implies."""
    delivery_free = tuple(
        dataclasses.replace(row, rule=BrokerageRule(0))
        if row.market is Market.EQUITY_DELIVERY
        else row
        for row in UPSTOX.brokerage
    )
    sample = dataclasses.replace(UPSTOX, brokerage=delivery_free, gst_on_sebi=False)
    got = charges_for_fill(
        "NSE_EQ", EQ, "D", BUY, 100, rs("1748.67"), date(2023, 6, 1), tariff=sample
    )
    assert upstox_charges_payload(got, sample) == {
        "total": Decimal("208.27"),
        "brokerage": Decimal("0"),
        "taxes": {"gst": Decimal("1.02"), "stt": Decimal("175"), "stamp_duty": Decimal("26.23")},
        "other_taxes": {
            "transaction": Decimal("5.68"),
            "clearing": Decimal("0"),
            "ipft": Decimal("0.17"),
            "sebi_turnover": Decimal("0.17"),
        },
        "dp_plan": {"name": "DP3A", "min_expense": Decimal("18.5")},
    }


def test_payload_refuses_charges_that_include_dp() -> None:
    with_dp = charges_for_fill("NSE_EQ", EQ, "D", SELL, 1, rs("100"), APR26, include_dp=True)
    with pytest.raises(ChargesError, match="DP"):
        upstox_charges_payload(with_dp)


# --- effective dates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "stt_rupees"),
    [
        (date(2024, 9, 30), "1250"),  # 0.0125 % of Rs 1 crore
        (date(2024, 10, 1), "2000"),  # 0.02 %
        (date(2026, 3, 31), "2000"),
        (date(2026, 4, 1), "5000"),  # 0.05 %
    ],
)
def test_futures_stt_switches_on_its_effective_date(on: date, stt_rupees: str) -> None:
    got = charges_for_fill("NSE_FO", FUT, "D", SELL, 400, rs("25000"), on)
    assert got.stt == rs(stt_rupees)


@pytest.mark.parametrize(
    ("on", "exchange_rupees"),
    [
        (date(2024, 3, 31), "325.00"),  # 0.00325 % of Rs 1 crore
        (date(2024, 4, 1), "322.00"),
        (date(2024, 9, 30), "322.00"),
        (date(2024, 10, 1), "297.00"),
    ],
)
def test_nse_cash_transaction_charge_switches(on: date, exchange_rupees: str) -> None:
    got = charges_for_fill("NSE_EQ", EQ, "I", BUY, 10_000, rs("1000"), on)
    assert got.exchange == rs(exchange_rupees)


def test_dates_before_the_table_are_refused_not_guessed() -> None:
    with pytest.raises(RateNotFoundError, match="before 2023-04-01"):
        charges_for_fill("NSE_EQ", EQ, "I", SELL, 1, rs("100"), date(2023, 3, 31))
    with pytest.raises(RateNotFoundError, match="before 2024-10-01"):
        charges_for_fill("BSE_EQ", EQ, "D", BUY, 1, rs("100"), date(2024, 9, 30))


# --- sides, markets, venues -------------------------------------------------------------


def test_intraday_stt_on_sell_and_stamp_on_buy_only() -> None:
    buy = charges_for_fill("NSE_EQ", EQ, "I", BUY, 1000, rs("1000"), APR26)
    sell = charges_for_fill("NSE_EQ", EQ, "I", SELL, 1000, rs("1000"), APR26)
    assert (buy.stt, buy.stamp) == (0, rs("30"))
    assert (sell.stt, sell.stamp) == (rs("250"), 0)


def test_delivery_stt_on_both_sides() -> None:
    buy = charges_for_fill("NSE_EQ", EQ, "D", BUY, 10, rs("1000"), APR26)
    sell = charges_for_fill("NSE_EQ", EQ, "D", SELL, 10, rs("1000"), APR26)
    assert buy.stt == sell.stt == rs("10")


def test_option_stt_is_on_the_premium_of_the_sell() -> None:
    sell = charges_for_fill("NSE_FO", CE, "I", SELL, 65, rs("100"), APR26)
    buy = charges_for_fill("NSE_FO", CE, "I", BUY, 65, rs("100"), APR26)
    assert sell.stt == rs("10")  # 0.15 % of Rs 6,500 = 9.75, to the rupee
    assert buy.stt == 0
    assert sell.brokerage == buy.brokerage == rs("20")  # flat per order


def test_intraday_brokerage_is_the_lower_of_rs20_and_the_percentage() -> None:
    small = charges_for_fill("NSE_EQ", EQ, "I", BUY, 10, rs("100"), APR26)
    assert small.brokerage == rs("1")  # 0.1 % of Rs 1,000
    large = charges_for_fill("NSE_EQ", EQ, "I", BUY, 1000, rs("100"), APR26)
    assert large.brokerage == rs("20")


def test_bse_rates_by_scrip_group_and_option_index() -> None:
    group_a = charges_for_fill("BSE_EQ", EQ, "D", BUY, 100, rs("1000"), APR26)
    assert (group_a.exchange, group_a.ipft) == (rs("3.75"), 0)  # no IPFT on BSE
    group_x = charges_for_fill("BSE_EQ", EQ, "D", BUY, 100, rs("1000"), APR26, rate_class="X")
    assert group_x.exchange == rs("100")
    fut = charges_for_fill("BSE_FO", FUT, "I", BUY, 20, rs("80000"), APR26)
    assert fut.exchange == 0
    sensex = charges_for_fill("BSE_FO", CE, "I", BUY, 20, rs("500"), APR26, rate_class="SENSEX")
    assert sensex.exchange == rs("3.25")  # 0.0325 % of Rs 10,000
    with pytest.raises(RateNotFoundError, match="SENSEX"):
        charges_for_fill("BSE_FO", CE, "I", BUY, 20, rs("500"), APR26)


# --- per order and per day --------------------------------------------------------------


def test_brokerage_is_per_order_not_per_fill() -> None:
    day = DayCharges(APR26)
    parts = [day.add(Fill(STOCK, EQ, "I", BUY, q, rs("1000"), APR26, "o1")) for q in (30, 30, 40)]
    assert sum(p.brokerage for p in parts) == rs("20")
    assert day.for_order("o1") == day.total()
    assert day.total() == charges_for_fill("NSE_EQ", EQ, "I", BUY, 100, rs("1000"), APR26)
    second = day.add(Fill(STOCK, EQ, "I", BUY, 100, rs("1000"), APR26, "o2"))
    assert second.brokerage == rs("20")  # a second order (e.g. a slice child) pays again
    assert day.for_order("o1") + day.for_order("o2") == day.total()


def test_dp_is_once_per_scrip_per_day() -> None:
    day = DayCharges(APR26)
    first = day.add(Fill(STOCK, EQ, "D", SELL, 10, rs("1000"), APR26, "s1"))
    again = day.add(Fill(STOCK, EQ, "D", SELL, 10, rs("1000"), APR26, "s2"))
    other = day.add(Fill("NSE_EQ|INE009A01021", EQ, "D", SELL, 10, rs("1000"), APR26, "s3"))
    assert (first.dp, again.dp, other.dp) == (rs("18.50"), 0, rs("18.50"))


def test_stt_is_rounded_per_security_per_day() -> None:
    day = DayCharges(APR26)
    # two sells of Rs 1,000 each: 0.25 + 0.25 = 0.50 -> Rs 1 for the day
    first = day.add(Fill(STOCK, EQ, "I", SELL, 1, rs("1000"), APR26, "s1"))
    second = day.add(Fill(STOCK, EQ, "I", SELL, 1, rs("1000"), APR26, "s2"))
    assert (first.stt, second.stt, day.total().stt) == (0, rs("1"), rs("1"))


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize("qty", [0, -5, True])
def test_a_fill_without_a_positive_quantity_is_refused(qty: int) -> None:
    with pytest.raises(ChargesError, match="quantity"):
        charges_for_fill("NSE_EQ", EQ, "I", BUY, qty, rs("100"), APR26)


def test_bad_price_product_segment_and_type_are_refused() -> None:
    with pytest.raises(ChargesError, match="price_paise"):
        charges_for_fill("NSE_EQ", EQ, "I", BUY, 1, 0, APR26)
    with pytest.raises(ChargesError, match="MTF"):
        charges_for_fill("NSE_EQ", EQ, "MTF", BUY, 1, 100, APR26)
    with pytest.raises(ChargesError, match="MCX_FO"):
        charges_for_fill("MCX_FO", FUT, "I", BUY, 1, 100, APR26)
    with pytest.raises(ChargesError, match="not INDEX"):
        charges_for_fill("NSE_EQ", InstrumentType.INDEX, "I", BUY, 1, 100, APR26)


def test_a_day_refuses_other_days_and_an_order_changing_side() -> None:
    day = DayCharges(APR26)
    with pytest.raises(ChargesError, match="2026-04-16"):
        day.add(Fill(STOCK, EQ, "I", BUY, 1, 100, date(2026, 4, 16), "o1"))
    day.add(Fill(STOCK, EQ, "I", BUY, 1, 100, APR26, "o1"))
    with pytest.raises(ChargesError, match="o1"):
        day.add(Fill(STOCK, EQ, "I", SELL, 1, 100, APR26, "o1"))
    assert day.total() == day.for_order("o1")  # the refused fill left nothing behind


def test_rate_class_from_the_instrument_master() -> None:
    def row(segment: str, kind: InstrumentType, underlying: str) -> Instrument:
        return Instrument(f"{segment}|1", "X", "X", segment[:3], segment, kind,
                          underlying_symbol=underlying)  # fmt: skip

    assert rate_class_for(row("BSE_FO", CE, "SENSEX")) == "SENSEX"
    assert rate_class_for(row("BSE_FO", InstrumentType.PUT, "Bankex")) == "BANKEX"
    assert rate_class_for(row("BSE_FO", CE, "RELIANCE")) == "STOCK"
    assert rate_class_for(row("BSE_FO", FUT, "SENSEX")) == ""
    assert rate_class_for(row("NSE_FO", CE, "NIFTY")) == ""
