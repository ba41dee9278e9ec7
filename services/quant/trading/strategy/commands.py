"""What a strategy's order helpers emit: intents to place, requests to cancel.

A placed order travels as ``quant.trading.intent.IntentMessage`` (the ``orders.intents``
message: the intent, the strategy's sequence number for the day, the decision time); the
execution service derives the client order id from strategy + IST day + sequence, so the
id the helper returns is the id the order will have. A cancel is a ``CancelRequest`` naming
the client order id. The host hands both out as ``Emission``s that carry the strategy id
and its algo name (the ``X-Algo-Name`` the execution service sends the orders with); where
they go (the bus, the execution API, a backtest's paper broker) is the caller's business.
"""

from __future__ import annotations

from typing import NamedTuple

from quant.trading.intent import IntentMessage


class CancelRequest(NamedTuple):
    """Cancel the working order ``client_order_id`` of ``strategy`` (decided at ``ts_event``)."""

    strategy: str
    client_order_id: str
    ts_event: int


Command = IntentMessage | CancelRequest


class Emission(NamedTuple):
    """One command of one strategy, in the order the strategies emitted them."""

    strategy_id: str
    algo_name: str
    command: Command
