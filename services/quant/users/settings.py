"""Where users live, and the one settings object of ``quant users``.

``quant up`` keeps its stores in a data directory (``QUANT_DATA_DIR``, default
:data:`DEFAULT_DATA_DIR`): the relational store :data:`RELATIONAL_FILE` (users and keys
among its tables) and, after its first start, :data:`ADMIN_KEY_FILE` and
:data:`ADMIN_PASSWORD_FILE`. ``quant users``
works on that store, or on PostgreSQL when ``QUANT_POSTGRES__DSN`` is set (a cluster).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from quant.runtime.settings import Section, ServiceSettings
from quant.store.settings import PostgresSettings

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "quant-platform" / "up"
RELATIONAL_FILE = "relational.sqlite"
ADMIN_KEY_FILE = "admin.key"
ADMIN_PASSWORD_FILE = "admin.password"  # noqa: S105 - a file name: the initial password


class Argon2Settings(Section):
    """argon2id cost of new hashes (``QUANT_ARGON2__*``); argon2-cffi's defaults."""

    time_cost: int = Field(default=3, ge=1)
    memory_kib: int = Field(default=65536, ge=8)
    parallelism: int = Field(default=4, ge=1)


class UsersSettings(ServiceSettings):
    # the embedded store of `quant up` (when no PostgreSQL DSN is given)
    data_dir: Path = DEFAULT_DATA_DIR
    # QUANT_POSTGRES__DSN: the cluster's users table instead
    postgres: PostgresSettings | None = None
    argon2: Argon2Settings = Argon2Settings()

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()
