"""Control commands keyed by what they control: the key function, splitting, latest-wins."""

from __future__ import annotations

import pytest

from quant.bus.codecs import decode_control, encode_control
from quant.bus.control import publish_control
from quant.core.control import (
    ControlState,
    KillSwitch,
    SubscriptionAction,
    SubscriptionRequest,
    control_key,
    keyed_commands,
    latest_per_key,
)
from quant.core.events import FeedMode

ADD, REMOVE, MODE = (
    SubscriptionAction.ADD,
    SubscriptionAction.REMOVE,
    SubscriptionAction.CHANGE_MODE,
)
X, Y = "NSE_EQ|INE002A01018", "NSE_EQ|INE467B01029"


def sub(
    action: SubscriptionAction, *keys: str, mode: FeedMode = FeedMode.FULL
) -> SubscriptionRequest:
    return SubscriptionRequest(action, keys, mode, "ops", 1)


def test_a_subscription_request_is_keyed_by_its_instrument() -> None:
    assert control_key(sub(ADD, X)) == f"subscription/{X}"
    # the action does not change the key: REMOVE after ADD replaces it
    assert control_key(sub(REMOVE, X)) == control_key(sub(ADD, X))
    assert control_key(sub(ADD, X)) != control_key(sub(ADD, Y))


def test_a_request_for_several_instruments_has_no_single_key_and_is_split() -> None:
    with pytest.raises(ValueError, match="one instrument"):
        control_key(sub(ADD, X, Y))
    with pytest.raises(ValueError, match="one instrument"):
        control_key(sub(ADD))
    pairs = keyed_commands(sub(ADD, X, Y, X))
    assert [k for k, _ in pairs] == [f"subscription/{X}", f"subscription/{Y}"]
    assert [c for _, c in pairs] == [sub(ADD, X), sub(ADD, Y)]


def test_a_kill_switch_is_keyed_by_its_scope_not_its_day() -> None:
    today = KillSwitch(True, False, "r", "2026-12-07", 1)
    tomorrow = KillSwitch(False, False, "r", "2026-12-08", 2)
    assert control_key(today) == control_key(tomorrow) == "killswitch/account"
    momo = KillSwitch(True, True, "r", "2026-12-07", 1, strategy="momo")
    assert control_key(momo) == "killswitch/strategy/momo"


def test_latest_per_key_keeps_the_last_request_per_instrument() -> None:
    log = [sub(ADD, X, Y), sub(REMOVE, X), sub(ADD, X, mode=FeedMode.LTPC), sub(REMOVE, X)]
    assert latest_per_key(log) == [sub(ADD, Y), sub(REMOVE, X)]


def test_control_state_rebuilds_the_current_subscriptions_and_kill_switches() -> None:
    state = ControlState()
    log: list[SubscriptionRequest | KillSwitch] = [
        sub(ADD, X),
        sub(ADD, Y),
        sub(REMOVE, X),
        sub(MODE, Y, mode=FeedMode.LTPC),
        KillSwitch(True, True, "loss", "2026-12-07", 3),
        KillSwitch(False, False, "resume", "2026-12-07", 4),
    ]
    for command in log:
        state.apply(command)
    assert state.subscriptions() == {Y: FeedMode.LTPC}
    assert state.removed() == {X}
    assert state.kill_switches() == {"account": log[-1]}
    for command in log:  # reading the log again changes nothing
        state.apply(command)
    assert state.subscriptions() == {Y: FeedMode.LTPC}


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str, bytes]] = []

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.messages.append((topic, key, value))

    def flush(self, timeout: float = 30.0) -> None:
        pass

    def close(self) -> None:
        pass


def test_publish_control_sends_one_keyed_message_per_instrument() -> None:
    pub = _Recorder()
    keys = publish_control(pub, sub(ADD, X, Y))
    assert keys == [f"subscription/{X}", f"subscription/{Y}"]
    assert [(t, k) for t, k, _ in pub.messages] == [("control.commands", k) for k in keys]
    assert [decode_control(v) for _, _, v in pub.messages] == [sub(ADD, X), sub(ADD, Y)]


def test_the_kill_switch_scope_survives_the_codec() -> None:
    ks = KillSwitch(True, True, "r", "2026-12-07", 9, strategy="momo")
    assert decode_control(encode_control(ks)) == ks
    assert decode_control(encode_control(ks._replace(strategy=""))).strategy == ""
