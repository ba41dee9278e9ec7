"""The one settings object of ``quant gateway`` (env prefix ``QUANT_``, nesting ``__``).

E.g. ``QUANT_GATEWAY__HOST=0.0.0.0 QUANT_GATEWAY__PORT=8080``,
``QUANT_KAFKA__BOOTSTRAP_SERVERS=...``, ``QUANT_POSTGRES__DSN=...`` (the Helm chart sets
these through its settings ConfigMap and the Postgres secret).
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from quant.config import KafkaSettings, PostgresSettings
from quant.gateway.settings import GatewaySettings


class GatewayServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QUANT_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    gateway: GatewaySettings = GatewaySettings()
    kafka: KafkaSettings = KafkaSettings()
    postgres: PostgresSettings = PostgresSettings()
    # consumer group; empty = "gateway-<hostname>" (every replica needs every message)
    group_id: str = ""
    feed_max_messages: int = 5000
    feed_poll_s: float = 0.2
    log_level: str = "INFO"
    log_json: bool = False
