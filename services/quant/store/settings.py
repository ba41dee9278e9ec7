"""The store sections of a service's settings: QuestDB (``QUANT_QUESTDB__*``) and
PostgreSQL (``QUANT_POSTGRES__DSN``).

Read by :meth:`quant.store.questdb_ticks.QuestDBTickStore.from_settings` and
:meth:`quant.store.postgres.PostgresStore.from_settings`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr


class QuestDBSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    http_port: int = 9000
    pg_port: int = 8812
    user: str = "admin"
    password: SecretStr = SecretStr("quest")
    database: str = "qdb"


class PostgresSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dsn: SecretStr = SecretStr("postgresql://quant@127.0.0.1:5432/quant_platform")
