"""The settings every service's one settings object extends.

Each process builds exactly one frozen ``pydantic-settings`` object at start-up (its
command's run function; nothing below it reads the environment). Every service's class
extends :class:`ServiceSettings`, which fixes the environment prefix ``QUANT_``, nesting
with ``__`` (``QUANT_KAFKA__BOOTSTRAP_SERVERS``), unknown keys rejected, and the fields
:func:`quant.runtime.supervisor.run_services` reads: log level and format, and the port
of the ``/healthz`` ``/readyz`` ``/metrics`` server.

:class:`DataServiceSettings` adds what every service on the market-data bus has: Kafka,
Upstox, and where the instrument master comes from. Adapter sections live with their
adapters (:mod:`quant.bus.settings`,
:mod:`quant.store.settings`, :mod:`quant.upstox.settings`); a service-level section of
our own derives from :class:`Section`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from quant.bus.settings import KafkaSettings
from quant.store.settings import PostgresSettings
from quant.upstox.settings import UpstoxSettings


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


# ``QUANT_LOG_LEVEL=debug`` works as well as ``DEBUG``
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]


class Section(BaseModel):
    """A frozen settings section that rejects unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceSettings(BaseSettings):
    """Prefix, log level and format, metrics port: what every service shares."""

    model_config = SettingsConfigDict(
        env_prefix="QUANT_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"  # json in the cluster (the chart sets it)
    # /healthz /readyz /metrics; 0 = not served (e.g. the gateway serves them itself)
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # how often each server the process needs (Kafka, QuestDB, PostgreSQL) is checked for
    # /readyz (quant.runtime.probes)
    dependency_check_interval_s: float = Field(default=2.0, gt=0, le=300)


class DataServiceSettings(ServiceSettings):
    """A service on the market-data bus that loads the instrument master at start."""

    kafka: KafkaSettings = KafkaSettings()
    upstox: UpstoxSettings = UpstoxSettings()
    # the instrument master: from PostgreSQL (filled by `quant sync-instruments`) when
    # configured, else downloaded from upstox.assets_base at every start
    postgres: PostgresSettings | None = None
    instrument_files: tuple[str, ...] = ("NSE", "BSE")
