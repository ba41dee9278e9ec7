"""Reference for ``bench_risk_oms.py``: NautilusTrader's pre-trade RiskEngine + OMS per order.

Runs in a separate venv (``nautilus-trader==1.221.0``, the newest release with a wheel for
Python 3.11; it does not import ``quant``):
``python -m venv ~/.cache/quant-platform/nautilus-venv && .../pip install nautilus-trader==1.221.0``
then ``~/.cache/quant-platform/nautilus-venv/bin/python bench/bench_risk_oms_nautilus.py``.

Per order, like ours: the strategy's order factory builds a LIMIT or MARKET order, a
``SubmitOrder`` command goes through ``RiskEngine.execute`` (its pre-trade checks: trading
state, instrument, price and quantity precision, max notional per order, the submit-rate
throttler) to the ``ExecutionEngine`` and a mock execution client; then the execution
engine processes submitted, accepted and filled events (its order state machine, the
cache and the position). Same mix as ours: half LIMIT, half MARKET, half BUY, half SELL,
on one FX instrument with a quote in the cache. Prints µs per order. Nautilus's position
keeps every fill event and a fill's cost grows with them (about 400 µs per order over 250
orders, 1,000 µs over 1,000, in one engine), so orders run in batches of 100, each on a
fresh engine whose set-up is not timed: that is the per-order cost of a small position.
"""

from __future__ import annotations

import argparse
import random
import time
from decimal import Decimal

from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.config import ExecEngineConfig, RiskEngineConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.engine import ExecutionEngine
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import AccountType, OrderSide
from nautilus_trader.model.identifiers import ClientId, Venue
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.portfolio.portfolio import Portfolio
from nautilus_trader.risk.engine import RiskEngine
from nautilus_trader.test_kit.mocks.exec_clients import MockExecutionClient
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.component import TestComponentStubs
from nautilus_trader.test_kit.stubs.data import TestDataStubs
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.identifiers import TestIdStubs
from nautilus_trader.trading.strategy import Strategy


def build():  # type: ignore[no-untyped-def]
    clock = TestClock()
    trader_id = TestIdStubs.trader_id()
    msgbus = MessageBus(trader_id=trader_id, clock=clock)
    cache = TestComponentStubs.cache()
    portfolio = Portfolio(msgbus=msgbus, cache=cache, clock=clock)
    exec_engine = ExecutionEngine(
        msgbus=msgbus, cache=cache, clock=clock, config=ExecEngineConfig()
    )
    risk = RiskEngine(
        portfolio=portfolio,
        msgbus=msgbus,
        cache=cache,
        clock=clock,
        config=RiskEngineConfig(
            max_order_submit_rate="1000000/00:00:01",
            max_notional_per_order={"AUD/USD.SIM": 50_000_000},
        ),
    )
    venue = Venue("SIM")
    client = MockExecutionClient(
        client_id=ClientId(venue.value),
        venue=venue,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        msgbus=msgbus,
        cache=cache,
        clock=clock,
    )
    portfolio.update_account(TestEventStubs.margin_account_state())
    exec_engine.register_client(client)
    instrument = TestInstrumentProvider.default_fx_ccy("AUD/USD")
    cache.add_instrument(instrument)
    cache.add_quote_tick(TestDataStubs.quote_tick(instrument=instrument))
    strategy = Strategy()
    strategy.register(
        trader_id=trader_id, portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock
    )
    exec_engine.start()
    risk.start()
    return clock, trader_id, exec_engine, risk, strategy, instrument


def run(n: int, fill: bool | str) -> tuple[float, int]:
    """Seconds for ``n`` orders, in batches of ``BATCH`` on a fresh engine each (set-up not
    timed): its position keeps every fill event, and the cost of a fill grows with them."""
    elapsed = sent = 0
    rnd = random.Random(7)
    for _ in range(n // BATCH):
        e, c = run_batch(BATCH, fill, rnd)
        elapsed += e
        sent += c
    return elapsed, sent


BATCH = 100


def run_batch(n: int, fill: bool | str, rnd: random.Random) -> tuple[float, int]:
    clock, trader_id, exec_engine, risk, strategy, instrument = build()
    orders = []
    for _ in range(n):
        side = OrderSide.BUY if rnd.random() < 0.5 else OrderSide.SELL
        qty = Quantity.from_int(rnd.randint(1, 200) * 1000)
        if rnd.random() < 0.5:
            order = strategy.order_factory.market(instrument.id, side, qty)
        else:
            price = Price(Decimal("1.00000") + Decimal(rnd.randint(-20, 20)) / 100000, 5)
            order = strategy.order_factory.limit(instrument.id, side, qty, price)
        orders.append(order)
    started = time.perf_counter()
    for order in orders:
        risk.execute(
            SubmitOrder(
                trader_id=trader_id,
                strategy_id=strategy.id,
                order=order,
                command_id=UUID4(),
                ts_init=clock.timestamp_ns(),
            )
        )
        if fill:
            events = (
                TestEventStubs.order_submitted(order),
                TestEventStubs.order_accepted(order),
                TestEventStubs.order_filled(order, instrument),
            )
            if fill is True:
                for event in events:
                    exec_engine.process(event)
    elapsed = time.perf_counter() - started
    return elapsed, exec_engine.command_count


def main(n: int, repeat: int) -> None:
    full = min(run(n, True)[0] for _ in range(repeat))
    alone, sent = min(run(n, False) for _ in range(repeat))
    stubs = min(run(n, "events only")[0] for _ in range(repeat)) - alone
    print(f"nautilus-trader 1.221.0, {n} orders ({sent} passed risk), best of {repeat}")
    print(f"RiskEngine + OMS (submitted/accepted/filled): {full * 1e6 / n:6.2f} µs per order")
    print(f"RiskEngine submit path alone               : {alone * 1e6 / n:6.2f} µs per order")
    print(f"building the 3 test events (in the first)  : {stubs * 1e6 / n:6.2f} µs per order")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    main(args.orders, args.repeat)
