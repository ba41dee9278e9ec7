"""Reference for ``bench_backtest.py``: NautilusTrader's BacktestEngine on the same tick file.

Runs in a separate venv (``nautilus_trader==1.221.0``, the newest release with a wheel for
Python 3.11; it does not import ``quant``):
``python3.11 -m venv /work/bench-venv-nautilus && /work/bench-venv-nautilus/bin/pip install
nautilus_trader==1.221.0``; ``bench_backtest.py`` runs it as
``.../bin/python bench/bench_backtest_nautilus.py TICKS.csv N_SYMBOLS`` and reads the JSON
line it prints last.

The file's rows (``ts_ns,symbol,bid,ask,bid_qty,ask_qty,ltp,volume``, paise) become
``QuoteTick``s (bid / ask in rupees, 2 decimals) of one equity per symbol on one venue
(netting, cash account), loaded before the clock starts. The strategy is the equivalent of
ours: per instrument, 1-minute bars aggregated internally from the quotes' MID (the mid is
the LTP in this file), SMA 10 and SMA 30 of the closes; on a cross up with no position a
1-unit market BUY, on a cross down with a long position a market SELL closing it. Only
``engine.run()`` is timed; one event per quote tick.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.indicators import SimpleMovingAverage
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import Bar, BarType, QuoteTick
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, TraderId, Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

VENUE = "XNSE"


class MaCrossConfig(StrategyConfig, frozen=True):
    instruments: tuple[str, ...] = ()
    fast: int = 10
    slow: int = 30


class MaCross(Strategy):  # type: ignore[misc]
    def __init__(self, config: MaCrossConfig) -> None:
        super().__init__(config)
        self.fast: dict[str, SimpleMovingAverage] = {}
        self.slow: dict[str, SimpleMovingAverage] = {}
        self.was_above: dict[str, bool] = {}
        self.ids: dict[str, InstrumentId] = {}

    def on_start(self) -> None:
        for name in self.config.instruments:
            iid = InstrumentId.from_str(f"{name}.{VENUE}")
            bar_type = BarType.from_str(f"{iid}-1-MINUTE-MID-INTERNAL")
            fast, slow = (
                SimpleMovingAverage(self.config.fast),
                SimpleMovingAverage(self.config.slow),
            )
            self.fast[str(iid)], self.slow[str(iid)], self.ids[str(iid)] = fast, slow, iid
            self.register_indicator_for_bars(bar_type, fast)
            self.register_indicator_for_bars(bar_type, slow)
            self.subscribe_bars(bar_type)

    def on_bar(self, bar: Bar) -> None:
        key = str(bar.bar_type.instrument_id)
        fast, slow = self.fast[key], self.slow[key]
        if not slow.initialized:
            return
        above = fast.value > slow.value
        was = self.was_above.get(key)
        self.was_above[key] = above
        if was is None or above == was:
            return
        iid = self.ids[key]
        if self.cache.orders_open(instrument_id=iid):
            return
        if above and self.portfolio.is_flat(iid):
            order = self.order_factory.market(iid, OrderSide.BUY, Quantity.from_int(1))
            self.submit_order(order)
        elif not above and self.portfolio.is_net_long(iid):
            self.close_all_positions(iid)


def main() -> int:
    path, n_symbols = sys.argv[1], int(sys.argv[2])
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("BENCH-001"),
            logging=LoggingConfig(log_level="ERROR", bypass_logging=True),
        )
    )
    engine.add_venue(
        venue=Venue(VENUE),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=USD,
        starting_balances=[Money(100_000_000, USD)],
    )
    t0 = time.perf_counter()
    names: dict[str, str] = {}
    instruments = {}
    ticks = []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        next(rows)
        for ts, key, bid, ask, bq, aq, _ltp, _vol in rows:
            name = names.get(key)
            if name is None:
                name = names[key] = f"SYM{len(names):02d}"
                inst = TestInstrumentProvider.equity(symbol=name, venue=VENUE)
                instruments[name] = inst
                engine.add_instrument(inst)
            t = int(ts)
            ticks.append(
                QuoteTick(
                    instrument_id=instruments[name].id,
                    bid_price=Price(Decimal(int(bid)) / 100, 2),
                    ask_price=Price(Decimal(int(ask)) / 100, 2),
                    bid_size=Quantity.from_int(int(bq)),
                    ask_size=Quantity.from_int(int(aq)),
                    ts_event=t,
                    ts_init=t,
                )
            )
    engine.add_data(ticks)
    engine.add_strategy(MaCross(MaCrossConfig(instruments=tuple(sorted(instruments)))))
    load_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    engine.run()
    run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    fills = len(engine.cache.orders_closed())
    engine.dispose()
    print(
        json.dumps(
            {
                "events": len(ticks),
                "load_s": load_s,
                "run_s": run_s,
                "events_per_s": len(ticks) / run_s,
                "cpu_events_per_s": len(ticks) / cpu_s,
                "fills": fills,
                "symbols": n_symbols,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
