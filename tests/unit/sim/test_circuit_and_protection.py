"""Circuit limits (model, quotes' source, order checks) and market_protection in the sim."""

from __future__ import annotations

import numpy as np
import pytest
from order_kit import RELIANCE, order_body, stepped_market

from quant.core.clock import FakeClock
from quant.sim import circuit
from quant.sim.errors import SimApiError
from quant.sim.market import Market
from quant.sim.master import Kind
from quant.sim.matching import BAD_INPUT, PRICE_BAND, OrderEngine


@pytest.fixture
def setup() -> tuple[Market, FakeClock, OrderEngine]:
    m, clock = stepped_market()
    return m, clock, OrderEngine(m)


def _first(m: Market, kind: Kind, prefix: str = "") -> int:
    return next(i for i, k in enumerate(m.u.keys) if m.u.kind[i] == kind and k.startswith(prefix))


def test_circuit_limits_are_deterministic_banded_and_on_the_tick_grid(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, _ = setup
    again, _ = stepped_market(seed=7)
    assert np.array_equal(m.circuit_lo, again.circuit_lo)
    assert np.array_equal(m.circuit_hi, again.circuit_hi)
    banded = m.circuit_hi > 0
    assert np.all(m.circuit_lo[banded] % m.tick[banded] == 0)
    assert np.all(m.circuit_hi[banded] % m.tick[banded] == 0)
    assert not banded[m.is_index].any()  # indices have no circuit
    eq = np.nonzero(m.u.kind == Kind.EQ)[0]
    assert set(np.round(m.band[eq], 2)) == {0.1, 0.2}  # both bands are in use
    row = m.u.index_of[RELIANCE]  # an F&O name: 20 %
    cp = int(m.close_prev[row])
    assert m.band[row] == 0.2
    assert m.circuit_lo[row] >= cp * 0.8 > m.circuit_lo[row] - m.tick[row]
    assert m.circuit_hi[row] <= cp * 1.2 < m.circuit_hi[row] + m.tick[row]
    bse = [i for i in eq if m.u.underlying[i] != i]
    assert bse and all(m.band[i] == m.band[m.u.underlying[i]] for i in bse)
    opt = _first(m, Kind.CE)
    und = int(m.u.underlying[opt])
    assert m.circuit_lo[opt] == m.tick[opt]
    assert (
        m.circuit_hi[opt]
        >= int(m.close_prev[opt])
        + circuit.INDEX_DERIVATIVE_BAND * int(m.close_prev[und])
        - m.tick[opt]
    )


def test_the_model_never_trades_outside_the_circuit(setup) -> None:  # type: ignore[no-untyped-def]
    m, clock, _ = setup
    row = m.u.index_of[RELIANCE]
    m.fair[row] *= 1.6  # a shock far beyond the 20 % band
    m.trend[row] = 0.5
    for _ in range(20):
        clock.advance(30.0)
        m.step()
        assert m.circuit_lo[row] <= m.ltp[row] <= m.circuit_hi[row]
    assert m.ltp[row] == m.circuit_hi[row]  # locked at the upper circuit
    book = m.book(np.asarray([row]))
    shown = book.ask_price[0][book.ask_qty[0] > 0]
    assert np.all(shown <= m.circuit_hi[row])  # no offers displayed beyond the circuit
    assert np.all(book.bid_price[0][book.bid_qty[0] > 0] <= m.circuit_hi[row])
    banded = m.circuit_hi > 0
    assert np.all((m.ltp[banded] >= m.circuit_lo[banded]) & (m.ltp[banded] <= m.circuit_hi[banded]))


def test_orders_outside_the_circuit_are_rejected(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng = setup
    row = m.u.index_of[RELIANCE]
    lo, hi, tick = int(m.circuit_lo[row]), int(m.circuit_hi[row]), int(m.tick[row])
    for price in (hi + tick, lo - tick):
        with pytest.raises(SimApiError) as info:
            eng.place("U", order_body(order_type="LIMIT", price=price / 100))
        assert info.value.code == PRICE_BAND and "circuit" in info.value.message
    assert eng.place("U", order_body(order_type="LIMIT", price=lo / 100))  # the limit itself is in
    opt = _first(m, Kind.CE, "NSE_FO")
    with pytest.raises(SimApiError) as info:  # options have a band too
        eng.place(
            "U",
            order_body(
                instrument_token=m.u.keys[opt],
                quantity=int(m.u.lot[opt]),
                order_type="LIMIT",
                price=(int(m.circuit_hi[opt]) + int(m.tick[opt])) / 100,
            ),
        )
    assert info.value.code == PRICE_BAND


def test_market_orders_never_fill_beyond_the_circuit(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng = setup
    row = m.u.index_of[RELIANCE]
    tick = int(m.tick[row])
    book = m.book(np.asarray([row]))
    m.circuit_hi[row] = int(book.ask_price[0, 1])  # only two ask levels inside the band
    cut = m.book(np.asarray([row]))
    assert cut.ask_price[0].tolist()[2:] == [0, 0, 0] and cut.ask_qty[0].tolist()[2:] == [0, 0, 0]
    total = int(book.ask_qty[0].sum())
    (oid,) = eng.place("U", order_body(quantity=total))
    o = eng.orders[oid]
    assert 0 < o.filled < total and o.status == "open"
    assert max(f.price for f in eng.fills) <= m.circuit_hi[row]
    assert int(book.ask_price[0, 4]) > m.circuit_hi[row] + tick


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"market_protection": 26}, "market_protection"),
        ({"market_protection": -2}, "market_protection"),
        ({"market_protection": "much"}, "market_protection"),
        ({"market_protection": True}, "market_protection"),
        ({"market_protection": 5, "order_type": "LIMIT", "price": 1500.0}, "market_protection"),
    ],
)
def test_market_protection_is_validated(setup, body: dict[str, object], path: str) -> None:  # type: ignore[no-untyped-def]
    _, _, eng = setup
    with pytest.raises(SimApiError) as info:
        eng.place("U", order_body(**body))
    assert (info.value.code, info.value.property_path) == (BAD_INPUT, path)
    assert not eng.orders


def test_market_protection_caps_the_fill_price_and_the_rest_rests(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng = setup
    row = m.u.index_of[RELIANCE]
    book = m.book(np.asarray([row]))
    asks = book.ask_price[0].tolist()
    m.ltp[row] = asks[0]
    # 0.0001 % of the LTP is less than a tick: the protection price is one tick away
    total = int(book.ask_qty[0].sum())
    (oid,) = eng.place("U", order_body(quantity=total, market_protection=0.0001))
    o = eng.orders[oid]
    assert o.protection_price == asks[1]
    assert [f.price for f in eng.fills] == asks[:2]
    assert o.filled == int(book.ask_qty[0, 0] + book.ask_qty[0, 1])
    assert o.status == "open"  # a DAY remainder waits at the protection price
    (ioc,) = eng.place("U", order_body(quantity=total, market_protection=0.0001, validity="IOC"))
    assert eng.orders[ioc].status == "cancelled"


def test_market_protection_percent_and_automatic(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng = setup
    row = m.u.index_of[RELIANCE]
    ltp, tick = int(m.ltp[row]), int(m.tick[row])
    (buy,) = eng.place("U", order_body(quantity=1, market_protection=2))
    assert eng.orders[buy].protection_price == (ltp + ltp * 2 // 100) // tick * tick
    ltp = int(m.ltp[row])
    (sell,) = eng.place("U", order_body(quantity=1, transaction_type="SELL", market_protection=-1))
    expected = -(-(ltp - ltp * 3 // 100) // tick) * tick  # automatic = 3 % (sim's choice)
    assert eng.orders[sell].protection_price == expected
    (plain,) = eng.place("U", order_body(quantity=1))
    assert eng.orders[plain].protection_price == 0


def test_sl_m_protection_is_priced_at_the_trigger(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng = setup
    row = m.u.index_of[RELIANCE]
    ltp, tick = int(m.ltp[row]), int(m.tick[row])
    trigger = ltp + 10 * tick
    (oid,) = eng.place(
        "U", order_body(order_type="SL-M", trigger_price=trigger / 100, market_protection=1)
    )
    o = eng.orders[oid]
    assert o.status == "trigger pending" and o.protection_price == 0
    m.ltp[row] = trigger
    eng.on_step()
    assert o.protection_price == (trigger + trigger // 100) // tick * tick
    assert all(f.price <= o.protection_price for f in eng.fills if f.order_id == oid)


def test_modify_sets_or_clears_market_protection(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng = setup
    row = m.u.index_of[RELIANCE]
    far = (int(m.circuit_lo[row]) + 10 * int(m.tick[row])) / 100
    (oid,) = eng.place("U", order_body(order_type="LIMIT", price=far))
    with pytest.raises(SimApiError):
        eng.modify("U", {"order_id": oid, "market_protection": 5})  # still a LIMIT
    eng.modify("U", {"order_id": oid, "order_type": "MARKET", "price": 0, "market_protection": 5})
    o = eng.orders[oid]
    assert o.market_protection == 5 and o.protection_price > 0 and o.status == "complete"
