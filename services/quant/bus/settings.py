"""The Kafka section of a service's settings (``QUANT_KAFKA__BOOTSTRAP_SERVERS``, ...).

Part of the one settings object each Kafka-using service builds at start-up; read by
:meth:`quant.bus.kafka.KafkaBus.from_settings`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class KafkaSettings(BaseModel):
    """Where the brokers are, and how this process names itself to them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "quant"
