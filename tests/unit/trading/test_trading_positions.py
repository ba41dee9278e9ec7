"""Positions and P&L in integer paise: worked examples, and the cash-flow identity for any fills."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quant.core.orders import Side
from quant.trading import Fill, InvalidFill, Position, PositionBook, PositionKey, Product
from quant.trading.errors import TradingError

KEY = "NSE_EQ|INE002A01018"
OTHER = "NSE_FO|52618"
POS = PositionKey("orb", KEY, Product.INTRADAY)


def fill(
    side: Side,
    qty: int,
    price: int,
    *,
    strategy: str = "orb",
    key: str = KEY,
    product: Product = Product.INTRADAY,
) -> Fill:
    return Fill("orb-261207-1", strategy, key, product, side, qty, qty * price, 0)


def test_long_reduce_flip_and_cover_worked_example() -> None:
    p = Position(POS).apply(fill(Side.BUY, 10, 100_000))  # 10 @ ₹1000.00
    assert (p.net_quantity, p.cost, p.average_price, p.realised) == (10, 1_000_000, 100_000, 0)
    p = p.apply(fill(Side.SELL, 4, 101_050))  # 4 @ ₹1010.50: +₹10.50 a share
    assert (p.net_quantity, p.cost, p.realised) == (6, 600_000, 4_200)
    assert p.unrealised(100_500) == 3_000  # 6 x ₹5.00 at a ₹1005.00 mark
    p = p.apply(fill(Side.SELL, 10, 100_200))  # sells 6 to close, 4 to open a short
    assert (p.net_quantity, p.cost, p.average_price, p.realised) == (-4, -400_800, 100_200, 5_400)
    assert p.unrealised(100_000) == 800  # short 4 from ₹1002.00, mark ₹1000.00
    p = p.apply(fill(Side.BUY, 4, 100_000))
    assert (p.net_quantity, p.cost, p.realised) == (0, 0, 6_200)
    assert p.is_flat
    assert p.cash_flow == 6_200


def test_the_cost_share_rounds_half_away_and_no_paisa_is_lost() -> None:
    p = Position(POS).apply(fill(Side.BUY, 1, 100)).apply(fill(Side.BUY, 2, 101))
    assert (p.cost, p.average_price) == (302, 101)  # 100.67 -> 101
    p = p.apply(fill(Side.SELL, 1, 100))  # takes 302/3 = 100.67 -> 101 of the cost
    assert (p.cost, p.realised) == (201, -1)
    p = p.apply(fill(Side.SELL, 1, 100))  # takes 201/2 = 100.5 -> 101 (half away from zero)
    assert (p.cost, p.realised) == (100, -2)
    p = p.apply(fill(Side.SELL, 1, 100))
    assert (p.cost, p.realised) == (0, -2)
    assert p.realised == p.cash_flow == 300 - 302


def test_a_fill_for_another_position_is_refused() -> None:
    with pytest.raises(InvalidFill, match="is for"):
        Position(POS).apply(fill(Side.BUY, 1, 100, product=Product.DELIVERY))


def test_the_book_keeps_strategies_and_products_apart_and_adds_them_up() -> None:
    book = PositionBook()
    book.apply(fill(Side.BUY, 10, 1_000))
    book.apply(fill(Side.BUY, 5, 1_000, product=Product.DELIVERY))
    book.apply(fill(Side.SELL, 3, 1_100, strategy="vwap"))
    book.apply(fill(Side.SELL, 50, 20_000, key=OTHER))
    book.apply(fill(Side.BUY, 50, 19_000, key=OTHER))
    assert book.get("orb", KEY, Product.INTRADAY).net_quantity == 10
    assert book.get("orb", KEY, Product.DELIVERY).net_quantity == 5
    assert book.get("nobody", KEY, Product.DELIVERY).is_flat
    assert book.net_quantity(KEY) == 12
    assert book.net_quantity(KEY, strategy="vwap") == -3
    assert book.by_instrument() == {KEY: 12}  # OTHER is flat
    assert [p.key.product for p in book.open_positions(Product.INTRADAY)] == [
        Product.INTRADAY,
        Product.INTRADAY,
    ]
    assert book.strategies() == ["orb", "vwap"]
    assert book.realised() == book.realised("orb") == 50_000
    assert book.unrealised({KEY: 1_050}) == 10 * 50 + 5 * 50 - 3 * -50
    assert book.unrealised({KEY: 1_050}, strategy="vwap") == 150
    with pytest.raises(TradingError, match="no mark price"):
        book.unrealised({})
    assert PositionBook(book) == book
    assert len(book) == 4


# (side, quantity, value): a value that is not quantity x one price is a fill merged from
# executions at several prices (as replay produces), so the cost shares really get rounded.
trades = st.lists(
    st.tuples(st.sampled_from(Side), st.integers(1, 500), st.integers(1, 10**6)).flatmap(
        lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.integers(t[1], t[1] * t[2]))
    ),
    min_size=1,
    max_size=40,
)


@given(trades, st.integers(1, 10**6))
def test_any_fills_keep_the_position_invariants(
    sequence: list[tuple[Side, int, int]], mark: int
) -> None:
    p = Position(POS)
    for side, qty, value in sequence:
        p = p.apply(Fill("orb-261207-1", "orb", KEY, Product.INTRADAY, side, qty, value, 0))
        assert p.net_quantity == p.bought_quantity - p.sold_quantity
        # realised + unrealised at the mark == cash-flow accounting at the mark, to the paisa
        assert p.pnl(mark) == p.cash_flow + p.net_quantity * mark
        # the open units' cost has the position's sign (a flat position has no cost)
        assert (p.cost > 0) == (p.net_quantity > 0)
        assert (p.cost < 0) == (p.net_quantity < 0)
    if p.is_flat:
        assert p.realised == p.cash_flow
    assert p.bought_value == sum(v for s, _, v in sequence if s is Side.BUY)
    assert p.sold_value == sum(v for s, _, v in sequence if s is Side.SELL)
