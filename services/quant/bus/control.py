"""Publishing control commands on the compacted ``control.commands`` topic, keyed.

Every producer of control commands (the operator's kill switch, tests, tools) goes
through :func:`publish_control`, so each message carries the key of what it controls
(:func:`quant.core.control.control_key`) and compaction keeps the latest per key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quant.bus.codec_trading import encode_control
from quant.bus.topics import CONTROL
from quant.core.control import ControlEvent, keyed_commands

if TYPE_CHECKING:
    from quant.bus.port import Publisher


def publish_control(publisher: Publisher, command: ControlEvent) -> list[str]:
    """Queue ``command`` on ``control.commands`` (one message per instrument for a
    subscription request); returns the keys used. The caller flushes."""
    keys = []
    for key, one in keyed_commands(command):
        publisher.publish(CONTROL.name, key, encode_control(one))
        keys.append(key)
    return keys
