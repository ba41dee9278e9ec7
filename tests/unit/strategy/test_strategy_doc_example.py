"""The complete example of docs/strategies.md loads, validates and trades as described."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from strategy_kit import DAY, KEY, candle, clock_at, ist, order_event

from quant.core.orders import OrderStatus, OrderType, Side
from quant.strategy.loader import load_strategy
from quant.trading.client_ids import client_order_id
from quant.trading.intent import IntentMessage
from quant.trading.strategy import InvalidParams, StrategyHost

DOC = Path(__file__).resolve().parents[3] / "docs" / "strategies.md"


@pytest.fixture
def example_file(tmp_path: Path) -> Path:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    (source,) = [b for b in blocks if "class MaCross(" in b]
    path = tmp_path / "ma_cross.py"
    path.write_text(source)
    return path


def price_at(minute: int) -> int:
    """Down for an hour, up for two, down for an hour, then up to the close (paise)."""
    legs = [(60, -10), (120, +10), (60, -10), (10_000, +10)]
    price, left = 100_000, minute
    for length, step in legs:
        take = min(left, length)
        price += take * step
        left -= take
    return price


def test_the_example_crosses_in_and_out_and_squares_off_at_1510(example_file: Path) -> None:
    loaded = load_strategy(f"{example_file}:MaCross", {"fast": 2, "slow": 4, "quantity": 7})
    clock = clock_at(9, 15)
    host = StrategyHost(clock)
    host.add(loaded.cls(), strategy_id="macross", params=loaded.params, algo_name="demo")
    host.start()
    ctx = host.context("macross")
    trades: list[tuple[str, Side, int]] = []
    for minute in range(375):  # 09:15 .. 15:29
        hh, mm = divmod(9 * 60 + 15 + minute, 60)
        price = price_at(minute)
        clock.set_ns(ist(hh, mm) + 60 * 10**9)
        host.on_candle(candle(hh, mm, price, price, price, price))
        for emission in host.drain():
            assert emission.strategy_id == "macross" and emission.algo_name == "demo"
            message = emission.command
            assert isinstance(message, IntentMessage)
            intent = message.intent
            assert intent.order_type is OrderType.MARKET and intent.instrument_key == KEY
            at = ctx.now_ist()
            trades.append((f"{at:%H:%M}", intent.side, intent.quantity))
            cid = client_order_id("macross", DAY, message.sequence)
            host.on_order_event(
                order_event(cid, OrderStatus.FILLED, strategy="macross", ts=clock.now_ns(),
                            side=intent.side, quantity=intent.quantity,
                            filled=intent.quantity, value=intent.quantity * price)
            )  # fmt: skip
    host.stop()
    assert host.failures == []
    sides = [side for _, side, _ in trades]
    assert sides == [Side.BUY, Side.SELL, Side.BUY, Side.SELL]
    assert {q for _, _, q in trades} == {7}
    entry1, exit1, entry2, square_off = (t for t, _, _ in trades)
    assert "10:15" < entry1 < "10:45"  # after the turn up at 10:15
    assert "12:15" < exit1 < "12:45"  # after the turn down at 12:15
    assert "13:15" < entry2 < "13:45"  # after the turn up at 13:15
    assert square_off == "15:10"  # held into the close, squared off by the timer
    assert ctx.position(KEY).is_flat
    assert ctx.state == {"squared_off": "2026-12-07"}


def test_the_example_refuses_fast_not_below_slow(example_file: Path) -> None:
    with pytest.raises(InvalidParams, match=r"fast \(30\) must be below slow \(20\)"):
        load_strategy(f"{example_file}:MaCross", {"fast": 30, "slow": 20})
