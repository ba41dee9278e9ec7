"""The one settings object of ``quant gateway`` (env prefix ``QUANT_``, nesting ``__``).

E.g. ``QUANT_GATEWAY__HOST=0.0.0.0 QUANT_GATEWAY__PORT=8080``,
``QUANT_KAFKA__BOOTSTRAP_SERVERS=...``, ``QUANT_POSTGRES__DSN=...``, ``QUANT_QUESTDB__HOST``
(the Helm chart sets these through its settings ConfigMap and the Postgres and QuestDB
secrets). ``QUANT_TICK_STORE=none`` serves no stored candles or scanner picks.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from quant.bus.settings import KafkaSettings
from quant.gateway.settings import GatewaySettings
from quant.runtime.settings import ServiceSettings
from quant.store.settings import PostgresSettings, QuestDBSettings


class GatewayServiceSettings(ServiceSettings):
    gateway: GatewaySettings = GatewaySettings()
    kafka: KafkaSettings = KafkaSettings()
    postgres: PostgresSettings = PostgresSettings()
    # candles and scanner picks: QuestDB (opened on the first request), or none (503)
    tick_store: Literal["questdb", "none"] = "questdb"
    questdb: QuestDBSettings = QuestDBSettings()
    # consumer group; empty = "gateway-<hostname>" (every replica needs every message)
    group_id: str = ""
    feed_max_messages: int = 5000
    feed_poll_s: float = 0.2
    # symbol search and resolution: the relational store, or the master held in memory
    instrument_lookup: Literal["store", "memory"] = "store"
    # with the store: how often to check whether the instrument table changed (and reload)
    instrument_refresh_s: float = Field(default=60.0, gt=0)
