"""Control-plane commands carried on ``control.commands`` (subscriptions, kill switch).

The gateway, operator and scanner publish them; the ingestor and execution consume
them. ``ControlEvent`` is the union a consumer matches on.

Control commands are state, not events: the topic is log-compacted and every message is
keyed by what it controls (:func:`control_key`), so Kafka keeps the latest command per
key and a consumer that reads the topic from the beginning rebuilds the current state
(:class:`ControlState`). A subscription request is keyed by its one instrument
(``subscription/<instrument_key>``: ADD then REMOVE leaves REMOVE); a request naming
several instruments is published as one message per instrument (:func:`keyed_commands`).
A kill switch is keyed by its scope (``killswitch/account`` or
``killswitch/strategy/<name>``), not by trading day: a halted account stays halted.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    strategy: str = ""  # empty: the whole account


ControlEvent = SubscriptionRequest | KillSwitch

SUBSCRIPTION_PREFIX = "subscription/"
KILLSWITCH_PREFIX = "killswitch/"


def control_key(command: ControlEvent) -> str:
    """The message key of ``command`` on the compacted control topic: what it controls.

    Raises ``ValueError`` for a subscription request that does not name exactly one
    instrument (split it with :func:`keyed_commands` first).
    """
    if isinstance(command, SubscriptionRequest):
        if len(command.instrument_keys) != 1:
            raise ValueError(
                f"a keyed subscription request names one instrument, not "
                f"{len(command.instrument_keys)}; split it with keyed_commands()"
            )
        return SUBSCRIPTION_PREFIX + command.instrument_keys[0]
    if command.strategy:
        return f"{KILLSWITCH_PREFIX}strategy/{command.strategy}"
    return f"{KILLSWITCH_PREFIX}account"


def keyed_commands(command: ControlEvent) -> list[tuple[str, ControlEvent]]:
    """``command`` as the (key, message) pairs to publish: one per instrument for a
    subscription request (duplicates dropped, order kept), the command itself otherwise."""
    if isinstance(command, SubscriptionRequest):
        return [
            (SUBSCRIPTION_PREFIX + key, command._replace(instrument_keys=(key,)))
            for key in dict.fromkeys(command.instrument_keys)
        ]
    return [(control_key(command), command)]


def latest_per_key(commands: Iterable[ControlEvent]) -> list[ControlEvent]:
    """The last command per key, in the order those last ones came (what compaction
    leaves of the same log); multi-instrument requests are split first."""
    latest: dict[str, ControlEvent] = {}
    for command in commands:
        for key, one in keyed_commands(command):
            latest.pop(key, None)  # re-insert: keep the order of the latest ones
            latest[key] = one
    return list(latest.values())


class ControlState:
    """The current control state, folded from the control topic read in order.

    Each command replaces the previous one with the same :func:`control_key`; reading
    the same messages again changes nothing.
    """

    def __init__(self) -> None:
        self._latest: dict[str, ControlEvent] = {}

    def apply(self, command: ControlEvent) -> None:
        for key, one in keyed_commands(command):
            self._latest[key] = one

    def subscriptions(self) -> dict[str, FeedMode]:
        """Instruments whose latest request keeps them subscribed (ADD or CHANGE_MODE),
        with the mode asked for."""
        return {
            c.instrument_keys[0]: c.mode
            for c in self._latest.values()
            if isinstance(c, SubscriptionRequest) and c.action is not SubscriptionAction.REMOVE
        }

    def removed(self) -> set[str]:
        """Instruments whose latest request removed them."""
        return {
            c.instrument_keys[0]
            for c in self._latest.values()
            if isinstance(c, SubscriptionRequest) and c.action is SubscriptionAction.REMOVE
        }

    def kill_switches(self) -> dict[str, KillSwitch]:
        """The latest kill switch per scope (``account`` or ``strategy/<name>``)."""
        return {
            key.removeprefix(KILLSWITCH_PREFIX): c
            for key, c in self._latest.items()
            if isinstance(c, KillSwitch)
        }
