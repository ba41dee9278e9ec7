"""The opening-range breakout example: entries on a pick's break, stop, target, square-off."""

from __future__ import annotations

import pytest
from examples_kit import Driver
from strategy_kit import KEY, KEY2

from quant.core.orders import OrderStatus
from quant.strategy.examples.orb import OpeningRangeBreakout
from quant.trading.strategy import InvalidParams

BASE = {"range_minutes": 15, "risk_per_trade": 50_000}


def opening_range(d: Driver, key: str = KEY, low: int = 100_000, high: int = 101_000) -> None:
    """09:15-09:29: the range [low, high], closes at 100_500."""
    d.bar(9, 15, 100_500, high, low, 100_500, key=key)
    d.flat_bars(key, (9, 16), (9, 29), 100_500)


def long_break(d: Driver, key: str = KEY) -> None:
    """The 09:30 bar closes at 1011.00, above the 1010.00 high."""
    d.bar(9, 30, 100_500, 101_200, 100_500, 101_100, key=key)


def entered_long(params: dict[str, object] | None = None) -> tuple[Driver, str]:
    """Picked at 09:20, broke out at 09:30, filled at 1012.00; returns the stop's id."""
    d = Driver(OpeningRangeBreakout(), {**BASE, **(params or {})})
    opening_range(d)
    d.suggestion(KEY, rank=1)
    long_break(d)
    assert d.sent() == [(KEY, "BUY", 45, "MARKET", 0, 0, "I")]  # 500.00 / 11.00 a share
    (entry,) = d.last_ids()
    d.fill(entry, 101_200)
    # the stop rests at the range low
    assert d.sent() == [(KEY, "SELL", 45, "SL_M", 0, 100_000, "I")]
    (stop,) = d.last_ids()
    return d, stop


def test_a_pick_breaking_its_range_enters_then_exits_at_the_target() -> None:
    d, stop = entered_long()
    # risk 12.00 a share from the 1012.00 fill: the 2R target is 1036.00
    d.bar(9, 31, 101_200, 103_595, 101_200, 103_500, key=KEY)
    assert d.sent() == []
    d.bar(9, 32, 103_500, 103_600, 103_400, 103_500, key=KEY)
    assert d.sent() == [("CANCEL", stop)]  # the stop first ...
    d.answer(stop, OrderStatus.CANCELLED)
    assert d.sent() == [(KEY, "SELL", 45, "MARKET", 0, 0, "I")]  # ... then the close
    (close,) = d.last_ids()
    d.fill(close, 103_550)
    assert d.ctx.position(KEY).net_quantity == 0
    assert d.sent() == []
    # one trade per name per day: a second break is ignored
    d.bar(9, 40, 101_000, 104_000, 101_000, 104_000, key=KEY)
    d.at(15, 10)
    assert d.sent() == []


def test_the_stop_filling_ends_the_trade_and_the_name_is_not_traded_again() -> None:
    d, stop = entered_long()
    d.fill(stop, 99_990)
    assert d.ctx.position(KEY).net_quantity == 0
    d.bar(9, 45, 100_000, 101_500, 100_000, 101_500, key=KEY)
    d.at(15, 10)
    assert d.sent() == []
    assert d.ctx.state["orb"] == {"day": "2026-12-07", "traded": [KEY]}


def test_square_off_at_1510_cancels_the_stop_then_closes() -> None:
    d, stop = entered_long()
    d.bar(10, 0, 101_300, 101_400, 101_300, 101_400, key=KEY)
    d.at(15, 9, 59)
    assert d.sent() == []
    d.at(15, 10)
    assert d.sent() == [("CANCEL", stop)]
    d.answer(stop, OrderStatus.CANCELLED)
    assert d.sent() == [(KEY, "SELL", 45, "MARKET", 0, 0, "I")]


def test_no_entry_without_a_pick_nor_for_a_pick_ranked_below_max_rank() -> None:
    d = Driver(OpeningRangeBreakout(), {**BASE, "max_rank": 5})
    opening_range(d)
    opening_range(d, KEY2)
    d.suggestion(KEY2, rank=6)
    long_break(d)
    long_break(d, KEY2)
    assert d.sent() == []


def test_a_watchlist_name_trades_without_the_scanner() -> None:
    d = Driver(OpeningRangeBreakout(), {**BASE, "use_scanner": False, "watchlist": [KEY]})
    opening_range(d)
    d.suggestion(KEY2, rank=1)  # ignored: use_scanner is false
    opening_range(d, KEY2)
    long_break(d, KEY2)
    long_break(d)
    assert d.sent() == [(KEY, "BUY", 45, "MARKET", 0, 0, "I")]


def test_trade_all_trades_every_instrument_fed() -> None:
    d = Driver(OpeningRangeBreakout(), {**BASE, "use_scanner": False, "trade_all": True})
    opening_range(d, KEY2)
    long_break(d, KEY2)
    assert d.sent() == [(KEY2, "BUY", 45, "MARKET", 0, 0, "I")]


def test_a_pick_after_the_range_trades_on_the_range_seen_before() -> None:
    d = Driver(OpeningRangeBreakout(), BASE)
    opening_range(d)
    d.flat_bars(KEY, (9, 30), (10, 4), 100_500)
    d.suggestion(KEY, rank=2)  # 10:05
    long_break_late = (100_500, 101_200, 100_500, 101_100)
    d.bar(10, 5, *long_break_late, key=KEY)
    assert d.sent() == [(KEY, "BUY", 45, "MARKET", 0, 0, "I")]


def test_max_positions_limits_the_names_entering_at_once() -> None:
    d = Driver(OpeningRangeBreakout(), {**BASE, "max_positions": 1})
    for key in (KEY, KEY2):
        opening_range(d, key)
        d.suggestion(key)
    long_break(d)
    long_break(d, KEY2)
    assert d.sent() == [(KEY, "BUY", 45, "MARKET", 0, 0, "I")]


def test_a_short_break_with_a_percent_stop_rounded_to_the_tick() -> None:
    d = Driver(OpeningRangeBreakout(), {**BASE, "stop": "percent", "stop_pct": 1.0})
    opening_range(d)
    d.suggestion(KEY)
    d.bar(9, 30, 100_500, 100_500, 99_800, 99_900, key=KEY)  # closes below the 1000.00 low
    # 1% of 999.00 is 9.99 a share: 500.00 / 9.99 = 50 shares
    assert d.sent() == [(KEY, "SELL", 50, "MARKET", 0, 0, "I")]
    (entry,) = d.last_ids()
    d.fill(entry, 99_800)
    # 998.00 + 1% = 1007.98, up to the 0.05 tick: 1008.00
    assert d.sent() == [(KEY, "BUY", 50, "SL_M", 0, 100_800, "I")]
    (stop,) = d.last_ids()
    # risk 10.00: target 978.00
    d.bar(9, 31, 99_000, 99_000, 97_805, 97_900, key=KEY)
    assert d.sent() == []
    d.bar(9, 32, 97_900, 97_900, 97_800, 97_850, key=KEY)
    assert d.sent() == [("CANCEL", stop)]
    d.answer(stop, OrderStatus.CANCELLED)
    assert d.sent() == [(KEY, "BUY", 50, "MARKET", 0, 0, "I")]


def test_shorts_can_be_turned_off_and_a_wide_range_is_skipped() -> None:
    d = Driver(OpeningRangeBreakout(), {**BASE, "allow_short": False})
    opening_range(d)
    opening_range(d, KEY2, low=100_000, high=104_000)  # 4% wide
    d.suggestion(KEY)
    d.suggestion(KEY2)
    d.bar(9, 30, 100_500, 100_500, 99_800, 99_900, key=KEY)
    d.bar(9, 30, 100_500, 104_500, 100_500, 104_500, key=KEY2)
    assert d.sent() == []


def test_a_rejected_entry_is_not_retried() -> None:
    d = Driver(OpeningRangeBreakout(), BASE)
    opening_range(d)
    d.suggestion(KEY)
    long_break(d)
    (entry,) = d.last_ids()
    d.sent()
    d.answer(entry, OrderStatus.REJECTED)
    d.bar(9, 31, 101_100, 101_500, 101_100, 101_500, key=KEY)
    assert d.sent() == []


def test_no_entry_after_last_entry_at() -> None:
    d = Driver(OpeningRangeBreakout(), {**BASE, "last_entry_at": "10:00"})
    opening_range(d)
    d.flat_bars(KEY, (9, 30), (9, 59), 100_500)
    d.suggestion(KEY)
    d.bar(10, 0, 100_500, 101_200, 100_500, 101_100, key=KEY)
    assert d.sent() == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"square_off_at": "15:20"}, "before the execution service's MIS square-off at 15:15"),
        ({"last_entry_at": "09:20"}, "need range end (09:30) < last_entry_at (09:20)"),
        ({"watchlist": ["RELIANCE"]}, "'RELIANCE' is not an instrument key"),
        ({"use_scanner": False}, "nothing to trade"),
        ({"target_r": 0}, "target_r"),
        ({"stop": "atr"}, "stop"),
    ],
)
def test_invalid_params_are_refused_with_a_clear_message(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidParams, match="OrbParams") as e:
        Driver(OpeningRangeBreakout(), params)
    assert message in str(e.value)
