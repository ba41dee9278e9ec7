"""The order status transition table: which status may follow which, and nothing else.

``TRANSITIONS[a]`` is the set of statuses an order in status ``a`` may move to. Every
change of an ``Order``'s status goes through :func:`check_transition`; any pair not in the
table raises ``IllegalTransition`` naming both statuses. FILLED, CANCELLED and REJECTED are
terminal. Self-loops are listed where the status stays while the order changes (a further
partial fill; a fill while a modify or cancel request is in flight).

Why each edge exists (broker behaviour the OMS must accept):

- PENDING_NEW (sent, not yet acknowledged) -> OPEN, or TRIGGER_PENDING for SL/SL-M;
  -> REJECTED by the broker or exchange; -> PARTIALLY_FILLED / FILLED when a marketable
  order fills before its acknowledgement is seen; -> CANCELLED when an IOC finds nothing;
  -> CANCEL_PENDING when a cancel (kill switch) is asked before the acknowledgement.
- TRIGGER_PENDING -> OPEN when an SL triggers; -> PARTIALLY_FILLED / FILLED when an SL-M
  triggers and fills at once; -> REJECTED when the triggered order is refused (price band);
  -> CANCELLED (end of day, exchange); -> MODIFY_PENDING / CANCEL_PENDING on request.
- OPEN and PARTIALLY_FILLED -> PARTIALLY_FILLED / FILLED on fills; -> CANCELLED (IOC
  remainder, end of day); -> MODIFY_PENDING / CANCEL_PENDING on request.
- MODIFY_PENDING -> back to its working status (OPEN, TRIGGER_PENDING or PARTIALLY_FILLED)
  when the broker applies or refuses the change; -> FILLED / CANCELLED when the market or
  exchange gets there first; -> CANCEL_PENDING (a cancel overrides a modify in flight).
- CANCEL_PENDING -> CANCELLED; -> FILLED when the fill wins the race; -> back to its
  working status when the broker refuses the cancel.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from quant.core.orders import OrderStatus
from quant.trading.errors import IllegalTransition

S = OrderStatus

TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        S.PENDING_NEW: frozenset(
            {
                S.OPEN,
                S.TRIGGER_PENDING,
                S.PARTIALLY_FILLED,
                S.FILLED,
                S.REJECTED,
                S.CANCELLED,
                S.CANCEL_PENDING,
            }
        ),
        S.TRIGGER_PENDING: frozenset(
            {
                S.OPEN,
                S.PARTIALLY_FILLED,
                S.FILLED,
                S.REJECTED,
                S.CANCELLED,
                S.MODIFY_PENDING,
                S.CANCEL_PENDING,
            }
        ),
        S.OPEN: frozenset(
            {S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.MODIFY_PENDING, S.CANCEL_PENDING}
        ),
        S.PARTIALLY_FILLED: frozenset(
            {S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.MODIFY_PENDING, S.CANCEL_PENDING}
        ),
        S.MODIFY_PENDING: frozenset(
            {
                S.OPEN,
                S.TRIGGER_PENDING,
                S.PARTIALLY_FILLED,
                S.FILLED,
                S.CANCELLED,
                S.MODIFY_PENDING,
                S.CANCEL_PENDING,
            }
        ),
        S.CANCEL_PENDING: frozenset(
            {
                S.OPEN,
                S.TRIGGER_PENDING,
                S.PARTIALLY_FILLED,
                S.FILLED,
                S.CANCELLED,
                S.CANCEL_PENDING,
            }
        ),
        S.FILLED: frozenset(),
        S.CANCELLED: frozenset(),
        S.REJECTED: frozenset(),
    }
)


def check_transition(current: OrderStatus, new: OrderStatus, client_order_id: str = "") -> None:
    """Raise ``IllegalTransition`` unless an order may move from ``current`` to ``new``."""
    if new in TRANSITIONS[current]:
        return
    who = f"order {client_order_id}" if client_order_id else "an order"
    if current.is_terminal:
        raise IllegalTransition(
            f"{who} is {current.name}, which is final; it cannot become {new.name}"
        )
    allowed = ", ".join(sorted(s.name for s in TRANSITIONS[current]))
    raise IllegalTransition(
        f"{who} cannot go from {current.name} to {new.name} (from {current.name} it may "
        f"become: {allowed})"
    )
