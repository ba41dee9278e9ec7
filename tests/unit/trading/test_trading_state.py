"""The trading-state machine: explicit commands, the daily-loss switch, no self-resume."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quant.core.orders import OrderType, Side
from quant.trading import OrderIntent, Product
from quant.trading.state import (
    ACCOUNT,
    Command,
    Effect,
    EffectKind,
    TradingState,
    TradingStates,
    is_position_reducing,
    scope_key,
)

A, RED, H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


def test_halt_cancels_working_orders_and_flatten_also_closes_positions() -> None:
    s, effects = TradingStates().apply(Command.HALT, "orb", 5)
    assert s.of("orb").state is H and s.of("orb").since_ns == 5
    assert effects == (Effect(EffectKind.CANCEL_WORKING_ORDERS, "orb"),)
    s2, effects = s.apply(Command.FLATTEN, "orb", 6)  # already halted: flatten only
    assert s2 is s
    assert effects == (Effect(EffectKind.FLATTEN_POSITIONS, "orb"),)
    s3, effects = TradingStates().apply(Command.FLATTEN, ACCOUNT, 7)
    assert s3.account.state is H
    assert [e.kind for e in effects] == [
        EffectKind.CANCEL_WORKING_ORDERS,
        EffectKind.FLATTEN_POSITIONS,
    ]


def test_repeating_a_command_changes_nothing() -> None:
    s, _ = TradingStates().apply(Command.REDUCE, "orb", 1)
    again, effects = s.apply(Command.REDUCE, "orb", 2)
    assert again is s and effects == ()
    assert again.of("orb").since_ns == 1


def test_effective_state_is_the_stricter_of_account_and_strategy() -> None:
    s, _ = TradingStates().apply(Command.REDUCE, ACCOUNT, 1)
    assert s.effective("orb") is RED
    s, _ = s.apply(Command.HALT, "orb", 2)
    assert s.effective("orb") is H
    assert s.effective("mr") is RED
    s, _ = s.apply(Command.RESUME, ACCOUNT, 3)
    assert (s.effective("orb"), s.effective("mr")) == (H, A)


def test_resume_is_explicit_and_clears_the_scope() -> None:
    s, _ = TradingStates().apply(Command.HALT, "orb", 1)
    s, effects = s.apply(Command.RESUME, "orb", 2)
    assert s.of("orb").state is A and effects == ()
    assert "orb" not in s.strategies


def test_daily_loss_switches_active_to_reducing_and_never_back() -> None:
    s, _ = TradingStates().on_daily_loss("orb", 99, 100, 1)
    assert s.of("orb").state is A
    s, _ = s.on_daily_loss("orb", 100, 100, 2)
    assert s.of("orb").state is RED
    assert "100 paise" in s.of("orb").reason
    s2, _ = s.on_daily_loss("orb", 0, 100, 3)  # P&L recovered: still reducing
    assert s2.of("orb").state is RED
    halted, _ = TradingStates().apply(Command.HALT, ACCOUNT, 1)
    after, _ = halted.on_daily_loss(ACCOUNT, 10**9, 100, 2)
    assert after.account.state is H  # never loosened to REDUCING
    unlimited, _ = TradingStates().on_daily_loss(ACCOUNT, 10**9, 0, 2)
    assert unlimited.account.state is A


@given(
    st.lists(
        st.tuples(
            st.sampled_from([*Command, "loss"]),
            st.sampled_from([ACCOUNT, "orb", "mr"]),
            st.integers(0, 200),
        ),
        max_size=30,
    )
)
def test_only_resume_ever_makes_a_scope_active_again(steps: list[tuple[object, str, int]]) -> None:
    s = TradingStates()
    for ts, (cmd, scope, loss) in enumerate(steps):
        before = s.of(scope).state
        if cmd == "loss":
            s, _ = s.on_daily_loss(scope, loss, 100, ts)
        else:
            s, _ = s.apply(Command(str(cmd)), scope, ts)
        after = s.of(scope).state
        if before is not A and after is A:
            assert cmd == Command.RESUME
        if cmd == "loss" and before is not A:
            assert after is before


def test_scope_keys() -> None:
    assert scope_key(ACCOUNT) == "account"
    assert scope_key("orb") == "strategy:orb"


def _sell(qty: int, product: Product = Product.INTRADAY) -> OrderIntent:
    return OrderIntent("orb", "NSE_EQ|X", Side.SELL, qty, OrderType.MARKET, product)


@pytest.mark.parametrize(
    ("net", "working", "qty", "reduces"),
    [
        (10, 0, 10, True),
        (10, 0, 11, False),  # would flip short
        (10, 4, 6, True),
        (10, 4, 7, False),  # with the working sells it would flip
        (0, 0, 1, False),  # flat: any order opens
        (-10, 0, 5, False),  # a sell adds to a short
    ],
)
def test_position_reducing(net: int, working: int, qty: int, reduces: bool) -> None:
    assert is_position_reducing(_sell(qty), net, working) is reduces
