"""Publishing the kill switch on the control topic: a one-method port and its adapters.

The reconciler calls ``publish`` when the spec's kill switch differs from what the
status says was applied. :class:`KafkaControlPublisher` writes a ``ControlEvent`` to
``control.commands`` (keyed by its scope, :func:`quant.core.control.control_key`:
the topic is compacted, so the latest kill switch per scope is the state a restarted
execution service reads back) and waits for delivery;
:class:`LoggingControlPublisher` is used when no Kafka is configured;
:class:`RecordingControlPublisher` keeps what it was given (tests, ``quant up``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from quant.bus.control import publish_control
from quant.bus.errors import BusError
from quant.bus.topics import CONTROL
from quant.core.control import KillSwitch

if TYPE_CHECKING:
    from quant.bus.port import Publisher

log = logging.getLogger(__name__)


class ControlPublishError(Exception):
    """The command could not be delivered; the reconcile is retried."""


class ControlPublisher(Protocol):
    async def publish(self, command: KillSwitch) -> None:
        """Deliver the command; raises :class:`ControlPublishError` if it could not."""
        ...


class LoggingControlPublisher:
    """No Kafka configured: record the command in the log only."""

    async def publish(self, command: KillSwitch) -> None:
        log.warning(
            "kill switch %s for %s (flatten=%s): no Kafka configured, not published",
            "ENGAGED" if command.engaged else "released",
            command.trading_day,
            command.flatten,
        )


class RecordingControlPublisher:
    """Keeps every command in memory."""

    def __init__(self) -> None:
        self.sent: list[KillSwitch] = []

    async def publish(self, command: KillSwitch) -> None:
        self.sent.append(command)


class KafkaControlPublisher:
    """Writes ``ControlEvent{kill_switch}`` to ``control.commands`` and waits for the ack."""

    def __init__(self, publisher: Publisher, *, flush_timeout: float = 15.0) -> None:
        self._publisher = publisher
        self._flush_timeout = flush_timeout

    def _send(self, command: KillSwitch) -> None:
        publish_control(self._publisher, command)
        self._publisher.flush(self._flush_timeout)

    async def publish(self, command: KillSwitch) -> None:
        try:
            await asyncio.to_thread(self._send, command)
        except BusError as e:
            raise ControlPublishError(f"kill switch not delivered to {CONTROL.name}: {e}") from e
        log.info("published kill switch engaged=%s for %s", command.engaged, command.trading_day)

    def close(self) -> None:
        self._publisher.close()
