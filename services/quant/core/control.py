"""Control-plane commands carried on ``control.commands`` (subscriptions, kill switch).

The gateway, operator and scanner publish them; the ingestor and execution consume
them. ``ControlEvent`` is the union a consumer matches on.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from quant.core.events import FeedMode


class SubscriptionAction(IntEnum):
    ADD = 1
    REMOVE = 2
    CHANGE_MODE = 3


class SubscriptionRequest(NamedTuple):
    """Ask the ingestor to add, remove or re-mode instruments at run time."""

    action: SubscriptionAction
    instrument_keys: tuple[str, ...]
    mode: FeedMode
    requested_by: str
    ts_event: int


class KillSwitch(NamedTuple):
    """Halt trading (``engaged``), optionally flattening open positions."""

    engaged: bool
    flatten: bool
    reason: str
    trading_day: str
    ts_event: int


ControlEvent = SubscriptionRequest | KillSwitch
