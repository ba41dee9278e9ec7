"""The backtest replay: hand-checked trades, determinism, risk rejections, ticks, no data."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from backtest_kit import (
    DAY,
    INSTRUMENTS,
    RELIANCE,
    BuyAndHold,
    Greedy,
    MaCross,
    candles_from_closes,
    minute_ns,
    next_day,
    store_with_candles,
    ticks_from_prices,
    write_ticks,
)

from quant.backtest.cli import orders_csv
from quant.backtest.config import BacktestConfig
from quant.backtest.replay import Backtest, BacktestResult, HistoryReader, NoData
from quant.backtest.report import trades_csv
from quant.core.orders import Side
from quant.execution.settings import PaperSettings, RiskSettings
from quant.trading.strategy import Strategy

# flat, up 19 minutes by Rs 5, then down by Rs 7
CLOSES = (
    [100_000] * 10
    + [100_000 + 500 * i for i in range(1, 20)]
    + [109_500 - 700 * i for i in range(1, 30)]
)
FAST = {"bar_minutes": 1, "fast": 2, "slow": 5, "quantity": 10}


def run(
    store: HistoryReader,
    params: dict[str, object],
    config: BacktestConfig | None = None,
    strategy: Strategy[Any] | None = None,
    first: date = DAY,
    last: date = DAY,
) -> BacktestResult:
    bt = Backtest(strategy or MaCross(), params, INSTRUMENTS, config)
    return asyncio.run(bt.run(store, first, last))


def test_ma_cross_on_bars_trades_at_the_synthetic_touch(tmp_path: Path) -> None:
    store = store_with_candles(tmp_path, candles_from_closes(RELIANCE, DAY, CLOSES))
    r = run(store, FAST)
    # the 11th minute (close 1005.00) lifts the 2-bar average over the 5-bar one: buy at
    # the ask, close + 1 tick (5 paise); the 31st (1081.00: 2-bar 1084.50 < 5-bar 1087.80)
    # crosses back: sell at the bid, close - 5 paise
    assert len(r.trades) == 1
    t = r.trades[0]
    assert (t.side, t.quantity, t.entry_price, t.exit_price) == (Side.BUY, 10, 100_505, 108_095)
    assert t.gross_pnl == 10 * (108_095 - 100_505)
    assert t.entry_ts == candles_from_closes(RELIANCE, DAY, CLOSES)[10].ts_start + 60 * 10**9
    assert 0 < t.charges < 10_000  # brokerage, STT, exchange, SEBI, stamp, GST: tens of rupees
    assert r.charges == t.charges
    assert r.intents == 2 and r.risk_rejections == 0 and not r.failures
    assert [e.status.name for e in r.order_events] == ["PENDING_NEW", "OPEN", "FILLED"] * 2
    assert r.equity[-1].day == DAY
    assert r.net_pnl == t.gross_pnl - t.charges


def test_same_inputs_same_trades_byte_for_byte(tmp_path: Path) -> None:
    store = store_with_candles(tmp_path, candles_from_closes(RELIANCE, DAY, CLOSES * 3))
    config = BacktestConfig(paper=PaperSettings(latency_ms=40, jitter_ms=30, seed=7))
    first, second = run(store, FAST, config), run(store, FAST, config)
    assert len(first.trades) >= 2
    assert trades_csv(first.trades).encode() == trades_csv(second.trades).encode()
    assert orders_csv(first).encode() == orders_csv(second).encode()
    assert first.equity == second.equity


def test_latency_fills_after_the_delay_against_the_book_held(tmp_path: Path) -> None:
    store = store_with_candles(tmp_path, candles_from_closes(RELIANCE, DAY, CLOSES))
    r = run(store, FAST, BacktestConfig(paper=PaperSettings(latency_ms=250)))
    filled = [e for e in r.order_events if e.status.name == "FILLED"]
    opened = [e for e in r.order_events if e.status.name == "OPEN"]
    assert [f.ts_event - o.ts_event for f, o in zip(filled, opened, strict=True)] == [
        250_000_000
    ] * 2


def test_risk_rejections_are_counted(tmp_path: Path) -> None:
    store = store_with_candles(tmp_path, candles_from_closes(RELIANCE, DAY, [100_000] * 10))
    config = BacktestConfig(risk=RiskSettings(max_position_quantity=30))
    r = run(store, {"quantity": 10}, config, Greedy())
    assert r.intents == 10
    assert sum(f.quantity for f in r.fills if f.side is Side.BUY) == 30
    assert r.rejections["POSITION_QUANTITY"] == 7
    # and the engine's own MIS square-off from 15:15 is refused (its sweeps too, once a
    # simulated minute): the last quote is 09:25's
    assert r.rejections["NO_QUOTE"] >= 1
    assert r.risk_rejections == 7 + r.rejections["NO_QUOTE"]
    # still held at the end: in the trades at the last price (the 09:24 close)
    (t,) = r.trades
    assert (t.quantity, t.entry_price, t.exit_price) == (30, 100_005, 100_000)


def test_no_data_in_the_range(tmp_path: Path) -> None:
    store = store_with_candles(tmp_path, candles_from_closes(RELIANCE, DAY, CLOSES))
    with pytest.raises(NoData, match="no bars between"):
        run(store, FAST, first=next_day(DAY), last=next_day(next_day(DAY)))


def test_mis_position_is_squared_off_by_the_engine(tmp_path: Path) -> None:
    # one long entry, never a cross back: the strategy's own 15:10 timer closes it
    closes = [100_000] * 10 + [100_000 + 100 * i for i in range(1, 370)]
    store = store_with_candles(tmp_path, candles_from_closes(RELIANCE, DAY, closes))
    r = run(store, FAST)
    assert len(r.trades) == 1
    # the 15:10 timer fires at 15:10:00, when the 15:09 candle has closed
    assert r.trades[0].exit_ts == minute_ns(DAY, 15, 10)
    assert r.trades[0].exit_price == closes[354] - 5


def test_ma_cross_on_ticks_through_the_feature_engine(tmp_path: Path) -> None:
    # one tick a second: each minute's last price is its close, so bars match the path
    prices: list[int] = []
    for c in CLOSES:
        prices.extend([c] * 60)
    store = store_with_candles(tmp_path, [])
    write_ticks(store, ticks_from_prices(RELIANCE, DAY, prices))
    r = run(store, FAST, BacktestConfig(data="ticks"))
    assert r.events == len(prices)
    assert len(r.trades) == 1
    t = r.trades[0]
    # a minute's candle reaches the strategy right after the tick that closed it in the
    # feature engine (the next minute's first), whose book the orders fill against, as
    # live (each minute trades at one price here: the next close), at the recorded touch
    # (ask = ltp + 5, bid = ltp - 5)
    assert (t.entry_price, t.exit_price) == (CLOSES[11] + 5, CLOSES[31] - 5)
    assert t.entry_ts == minute_ns(DAY, 9, 26)


def test_the_engine_squares_off_an_intraday_position_at_15_15(tmp_path: Path) -> None:
    closes = [100_000 + 5 * i for i in range(375)]  # the whole session, 09:15-15:30
    store = store_with_candles(tmp_path, candles_from_closes(RELIANCE, DAY, closes))
    r = run(store, {}, strategy=BuyAndHold())
    (t,) = r.trades
    assert t.exit_ts == minute_ns(DAY, 15, 15)
    assert t.exit_price == closes[359] - 5  # the 15:14 candle's close, at the bid
    square_off = [e for e in r.order_events if e.reason == "SQUARE_OFF"]
    assert square_off and square_off[-1].status.name == "FILLED"


def test_a_strategy_that_raises_is_stopped_and_reported(tmp_path: Path) -> None:
    store = store_with_candles(tmp_path, candles_from_closes(RELIANCE, DAY, CLOSES))
    r = run(store, {"fail_after": 3}, strategy=BuyAndHold())
    (f,) = r.failures
    assert (f.callback, f.error) == ("on_bar", "RuntimeError: boom")
    assert r.intents == 1  # its first bar's order went; nothing after it failed
