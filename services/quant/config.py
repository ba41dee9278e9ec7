"""Settings building blocks shared by the services' settings objects.

Each service defines one frozen ``BaseSettings`` subclass (its only reader of the
environment) composed of these sections, and builds it once in its ``main()``.
Environment variables use the ``QUANT_`` prefix and ``__`` for nesting, e.g.
``QUANT_KAFKA__BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr


class Section(BaseModel):
    """A frozen settings section that rejects unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "quant"


class QuestDBSettings(Section):
    host: str = "127.0.0.1"
    http_port: int = 9000
    pg_port: int = 8812
    user: str = "admin"
    password: SecretStr = SecretStr("quest")
    database: str = "qdb"


class PostgresSettings(Section):
    dsn: SecretStr = SecretStr("postgresql://quant@127.0.0.1:5432/quant_platform")


class UpstoxSettings(Section):
    """Where Upstox (or the simulator) lives, and where the access token is kept."""

    api_base: str = "https://api.upstox.com"
    hft_base: str = "https://api-hft.upstox.com"
    assets_base: str = "https://assets.upstox.com"
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    redirect_uri: str = "http://127.0.0.1:8765/callback"
    token_file: Path = Path.home() / ".config" / "quant-platform" / "upstox-token.json"
    ca_file: Path | None = None
