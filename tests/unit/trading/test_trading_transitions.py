"""The order status transition table: every legal move is reachable, every other one refused."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from trading_builders import (
    T0,
    cancel_pending,
    ioc,
    modify_pending,
    new,
    open_,
    partially_filled,
    stop_limit,
    trigger_pending,
)

from quant.core.orders import OrderStatus as S
from quant.trading import (
    TRANSITIONS,
    Amendment,
    IllegalTransition,
    Order,
    TradingError,
    check_transition,
)

T = T0 + 10

# One way through the Order API to make each legal move: (from, to) -> a call that starts
# from an order in ``from`` and returns the order after the move.
RECIPES: dict[tuple[S, S], Callable[[], Order]] = {
    (S.PENDING_NEW, S.OPEN): lambda: new().accepted("B1", T),
    (S.PENDING_NEW, S.TRIGGER_PENDING): lambda: new(stop_limit()).accepted("B1", T),
    (S.PENDING_NEW, S.PARTIALLY_FILLED): lambda: new().fill(3, 250_000, T)[0],
    (S.PENDING_NEW, S.FILLED): lambda: new().fill(10, 250_000, T)[0],
    (S.PENDING_NEW, S.REJECTED): lambda: new().rejected("circuit limit", T),
    (S.PENDING_NEW, S.CANCELLED): lambda: new(ioc()).cancelled(T, "IOC: nothing to match"),
    (S.PENDING_NEW, S.CANCEL_PENDING): lambda: new().cancel_requested(T),
    (S.TRIGGER_PENDING, S.OPEN): lambda: trigger_pending().triggered_at(T),
    (S.TRIGGER_PENDING, S.PARTIALLY_FILLED): lambda: trigger_pending().fill(3, 250_600, T)[0],
    (S.TRIGGER_PENDING, S.FILLED): lambda: trigger_pending().fill(10, 250_600, T)[0],
    (S.TRIGGER_PENDING, S.REJECTED): lambda: trigger_pending().rejected("outside band", T),
    (S.TRIGGER_PENDING, S.CANCELLED): lambda: trigger_pending().cancelled(T),
    (S.TRIGGER_PENDING, S.MODIFY_PENDING): lambda: trigger_pending().modify_requested(
        Amendment(trigger_price=250_000), T
    ),
    (S.TRIGGER_PENDING, S.CANCEL_PENDING): lambda: trigger_pending().cancel_requested(T),
    (S.OPEN, S.PARTIALLY_FILLED): lambda: open_().fill(3, 250_000, T)[0],
    (S.OPEN, S.FILLED): lambda: open_().fill(10, 250_000, T)[0],
    (S.OPEN, S.CANCELLED): lambda: open_().cancelled(T, "end of day"),
    (S.OPEN, S.MODIFY_PENDING): lambda: open_().modify_requested(Amendment(price=1), T),
    (S.OPEN, S.CANCEL_PENDING): lambda: open_().cancel_requested(T),
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED): lambda: partially_filled().fill(2, 250_000, T)[0],
    (S.PARTIALLY_FILLED, S.FILLED): lambda: partially_filled().fill(7, 250_000, T)[0],
    (S.PARTIALLY_FILLED, S.CANCELLED): lambda: partially_filled().cancelled(T),
    (S.PARTIALLY_FILLED, S.MODIFY_PENDING): lambda: partially_filled().modify_requested(
        Amendment(quantity=5), T
    ),
    (S.PARTIALLY_FILLED, S.CANCEL_PENDING): lambda: partially_filled().cancel_requested(T),
    (S.MODIFY_PENDING, S.OPEN): lambda: modify_pending().modified(T),
    (S.MODIFY_PENDING, S.TRIGGER_PENDING): lambda: modify_pending(trigger_pending()).modified(T),
    (S.MODIFY_PENDING, S.PARTIALLY_FILLED): lambda: modify_pending(partially_filled()).modified(T),
    (S.MODIFY_PENDING, S.FILLED): lambda: modify_pending().fill(10, 250_000, T)[0],
    (S.MODIFY_PENDING, S.CANCELLED): lambda: modify_pending().cancelled(T),
    (S.MODIFY_PENDING, S.MODIFY_PENDING): lambda: modify_pending().fill(3, 250_000, T)[0],
    (S.MODIFY_PENDING, S.CANCEL_PENDING): lambda: modify_pending().cancel_requested(T),
    (S.CANCEL_PENDING, S.OPEN): lambda: cancel_pending().request_refused("too late", T),
    (S.CANCEL_PENDING, S.TRIGGER_PENDING): lambda: cancel_pending(
        trigger_pending()
    ).request_refused("no", T),
    (S.CANCEL_PENDING, S.PARTIALLY_FILLED): lambda: cancel_pending(
        partially_filled()
    ).request_refused("no", T),
    (S.CANCEL_PENDING, S.FILLED): lambda: cancel_pending().fill(10, 250_000, T)[0],
    (S.CANCEL_PENDING, S.CANCELLED): lambda: cancel_pending().cancelled(T),
    (S.CANCEL_PENDING, S.CANCEL_PENDING): lambda: cancel_pending().fill(3, 250_000, T)[0],
}

LEGAL = sorted((a, b) for a, targets in TRANSITIONS.items() for b in targets)
ALL_PAIRS = list(itertools.product(S, S))

# Orders in every status, for the exhaustive operation sweep.
STATES: dict[S, Callable[[], Order]] = {
    S.PENDING_NEW: new,
    S.OPEN: open_,
    S.TRIGGER_PENDING: trigger_pending,
    S.PARTIALLY_FILLED: partially_filled,
    S.MODIFY_PENDING: modify_pending,
    S.CANCEL_PENDING: cancel_pending,
    S.FILLED: lambda: open_().fill(10, 250_000, T0 + 5)[0],
    S.CANCELLED: lambda: open_().cancelled(T0 + 5),
    S.REJECTED: lambda: new().rejected("no margin", T0 + 5),
}

OPERATIONS: dict[str, Callable[[Order], Order]] = {
    "accepted": lambda o: o.accepted("B1", T),
    "rejected": lambda o: o.rejected("no", T),
    "triggered": lambda o: o.triggered_at(T),
    "fill 1": lambda o: o.fill(1, 250_000, T)[0],
    "fill rest": lambda o: o.fill(max(o.remaining_quantity, 1), 250_000, T)[0],
    "modify": lambda o: o.modify_requested(Amendment(price=249_000), T),
    "modified": lambda o: o.modified(T),
    "cancel": lambda o: o.cancel_requested(T),
    "cancelled": lambda o: o.cancelled(T),
    "refused": lambda o: o.request_refused("no", T),
}


def test_every_status_has_a_row_and_final_statuses_have_no_way_out() -> None:
    assert set(TRANSITIONS) == set(S)
    for status in S:
        assert (TRANSITIONS[status] == frozenset()) == status.is_terminal


def test_the_recipes_cover_exactly_the_legal_transitions() -> None:
    assert sorted(RECIPES) == LEGAL


@pytest.mark.parametrize(("before", "after"), LEGAL, ids=lambda s: s.name)
def test_each_legal_transition_happens_through_the_order_api(before: S, after: S) -> None:
    assert STATES[before]().status is before
    order = RECIPES[(before, after)]()
    assert order.status is after
    assert order.ts_event == T


@pytest.mark.parametrize(("before", "after"), ALL_PAIRS, ids=lambda s: s.name)
def test_every_pair_is_allowed_or_refused_by_name(before: S, after: S) -> None:
    if after in TRANSITIONS[before]:
        check_transition(before, after, "orb-261207-1")
        return
    with pytest.raises(IllegalTransition) as err:
        check_transition(before, after, "orb-261207-1")
    message = str(err.value)
    assert "orb-261207-1" in message
    assert before.name in message
    assert after.name in message


@pytest.mark.parametrize("status", list(S), ids=lambda s: s.name)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_no_operation_makes_an_illegal_move_and_a_refusal_changes_nothing(
    status: S, operation: str
) -> None:
    order = STATES[status]()
    assert order.status is status
    try:
        after = OPERATIONS[operation](order)
    except TradingError as e:
        assert str(e)  # a refusal says why
        return
    assert after.status is status or after.status in TRANSITIONS[status]
    if status.is_terminal:
        # only a late acknowledgement (recording the broker id) touches a final order
        assert operation == "accepted"
        assert after.status is status


def test_final_statuses_refuse_everything_but_a_late_acknowledgement() -> None:
    for status in (S.FILLED, S.CANCELLED, S.REJECTED):
        order = STATES[status]()
        for name, op in OPERATIONS.items():
            if name == "accepted":
                continue
            with pytest.raises(TradingError):
                op(order)


def test_refusing_a_final_order_says_it_is_final() -> None:
    with pytest.raises(IllegalTransition, match="CANCELLED, which is final"):
        open_().cancelled(T).cancel_requested(T + 1)
