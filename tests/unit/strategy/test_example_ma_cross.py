"""The shipped example ``quant.strategy.examples.ma_cross:MaCross`` (what ``quant up`` runs)
crosses in and out on its bars and squares off at its time, on 1-minute bars (``quant
up``'s parameters) as on 5-minute ones."""

from __future__ import annotations

from strategy_kit import DAY, KEY, candle, clock_at, ist, order_event

from quant.core.orders import OrderStatus, Side
from quant.strategy.loader import load_strategy
from quant.trading.client_ids import client_order_id
from quant.trading.intent import IntentMessage
from quant.trading.strategy import StrategyHost

SPEC = "quant.strategy.examples.ma_cross:MaCross"


def price_at(minute: int) -> int:
    """Down for an hour, up for two, down for an hour, then up to the close (paise)."""
    legs = [(60, -10), (120, +10), (60, -10), (10_000, +10)]
    price, left = 100_000, minute
    for length, step in legs:
        take = min(left, length)
        price += take * step
        left -= take
    return price


def _trades(params: dict[str, object]) -> tuple[list[tuple[str, Side]], StrategyHost]:
    loaded = load_strategy(SPEC, params)
    clock = clock_at(9, 15)
    host = StrategyHost(clock)
    host.add(loaded.cls(), strategy_id="macross", params=loaded.params, algo_name="quant-up")
    host.start()
    ctx = host.context("macross")
    trades: list[tuple[str, Side]] = []
    for minute in range(375):
        hh, mm = divmod(9 * 60 + 15 + minute, 60)
        price = price_at(minute)
        clock.set_ns(ist(hh, mm) + 60 * 10**9)
        host.on_candle(candle(hh, mm, price, price, price, price))
        for emission in host.drain():
            message = emission.command
            assert isinstance(message, IntentMessage)
            trades.append((f"{ctx.now_ist():%H:%M}", message.intent.side))
            cid = client_order_id("macross", DAY, message.sequence)
            q = message.intent.quantity
            host.on_order_event(
                order_event(cid, OrderStatus.FILLED, strategy="macross", ts=clock.now_ns(),
                            side=message.intent.side, quantity=q, filled=q, value=q * price)
            )  # fmt: skip
    host.stop()
    assert host.failures == []
    return trades, host


def test_the_quant_up_parameters_trade_on_1_minute_bars() -> None:
    trades, host = _trades({"bar_minutes": 1, "fast": 3, "slow": 10, "quantity": 1})
    assert [side for _, side in trades] == [Side.BUY, Side.SELL, Side.BUY, Side.SELL]
    entry1, exit1, entry2, square_off = (t for t, _ in trades)
    assert "10:15" < entry1 < "10:30" and "12:15" < exit1 < "12:30" and "13:15" < entry2 < "13:30"
    assert square_off == "15:10"
    assert host.context("macross").position(KEY).is_flat


def test_five_minute_bars_turn_later_than_one_minute_bars() -> None:
    one, _ = _trades({"bar_minutes": 1, "fast": 2, "slow": 4})
    five, _ = _trades({"bar_minutes": 5, "fast": 2, "slow": 4})
    assert len(one) == len(five) == 4
    assert one[0][0] < five[0][0]  # the 5-minute averages turn later
