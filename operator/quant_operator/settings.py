"""The operator's one settings object, read from the environment by ``main``/startup.

Environment variables (prefix ``QUANT_``, ``__`` nests; other services' ``QUANT_*``
variables in a shared ConfigMap are ignored):

* ``QUANT_OPERATOR__NAMESPACE``: namespace to watch (unset: all namespaces).
* ``QUANT_OPERATOR__RECONCILE_INTERVAL``: seconds between periodic reconciles (10).
* ``QUANT_OPERATOR__SYNC_IMAGE`` / ``__SYNC_SERVICE_ACCOUNT`` / ``__SYNC_ENV_CONFIGMAP``:
  the instrument-sync Job's image, service account and env ConfigMap.
* ``QUANT_OPERATOR__BACKFILL_UNIVERSE``: ``--universe NAME|FILE`` of the end-of-day
  backfill Job for a day without ``spec.universe`` (default ``NSE_EQ``; empty: such a day
  skips the backfill).
* ``QUANT_OPERATOR__JOB_SECRET_ENV``: JSON list of Kubernetes ``EnvVar`` objects
  (``secretKeyRef`` names and keys, never values) added to the backfill Job's container,
  e.g. the QuestDB and PostgreSQL logins the chart gives the services.
* ``QUANT_OPERATOR__TOKEN_SECRET`` / ``__TOKEN_KEY``: the Upstox token Secret the backfill
  Job mounts when the day has no ``spec.tokenSecretRef``.
* ``QUANT_CLOCK__MODE``: ``real`` (default), ``accelerated`` or ``configmap``.
  ``accelerated`` starts at ``QUANT_CLOCK__START`` (RFC 3339, with offset) and runs
  ``QUANT_CLOCK__SPEED`` day-seconds per real second, so a whole day passes in seconds.
  ``configmap`` reads the instant from ``data.now`` (RFC 3339) of the ConfigMap
  ``QUANT_CLOCK__CONFIGMAP`` (default ``quant-operator-clock``) in the TradingDay's
  namespace at every reconcile, so a test steps the day exactly where it wants.
* ``QUANT_KAFKA__BOOTSTRAP_SERVERS``: when set, kill-switch events go to Kafka
  ``control.commands``; unset, they are logged only.
* ``QUANT_UPSTOX__API_BASE``, ``QUANT_UPSTOX__CLIENT_ID``, ``QUANT_UPSTOX__CLIENT_SECRET``,
  ``QUANT_UPSTOX__CA_FILE``: the token-request flow
  (``POST <api_base>/v3/login/auth/token/request/<client_id>``); disabled without both
  client id and secret.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quant.bus.settings import KafkaSettings
from quant.runtime.settings import Section
from quant.upstox.settings import UpstoxSettings


class ClockSettings(Section):
    mode: Literal["real", "accelerated", "configmap"] = "real"
    start: AwareDatetime | None = None
    speed: float = Field(default=1.0, gt=0, le=100_000)
    configmap: str = "quant-operator-clock"

    @model_validator(mode="after")
    def _start_for_accelerated(self) -> ClockSettings:
        if self.mode == "accelerated" and self.start is None:
            raise ValueError("clock.mode=accelerated needs clock.start (QUANT_CLOCK__START)")
        return self


def _env_var(entry: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(entry.get("name"), str) or ("value" in entry and "valueFrom" in entry):
        raise ValueError(f"not a Kubernetes EnvVar (name, value or valueFrom): {entry!r}")
    return entry


class OperatorSection(Section):
    namespace: str | None = None
    reconcile_interval: float = Field(default=10.0, gt=0, le=3600)
    sync_image: str = "quant-platform:0.1.0"
    sync_service_account: str | None = None
    sync_env_configmap: str | None = None
    backfill_universe: str = Field(default="NSE_EQ", max_length=4096)
    job_secret_env: tuple[dict[str, Any], ...] = ()
    token_secret: str | None = None
    token_key: str = "access_token"  # noqa: S105 - a key name
    request_timeout: float = Field(default=10.0, gt=0, le=120)

    @field_validator("job_secret_env")
    @classmethod
    def _env_vars(cls, value: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        return tuple(_env_var(e) for e in value)


class OperatorSettings(BaseSettings):
    """Everything the operator process is configured with."""

    model_config = SettingsConfigDict(
        env_prefix="QUANT_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    operator: OperatorSection = OperatorSection()
    clock: ClockSettings = ClockSettings()
    kafka: KafkaSettings | None = None
    upstox: UpstoxSettings = UpstoxSettings()
    log_level: str = "INFO"
    log_json: bool = False

    @property
    def token_request_enabled(self) -> bool:
        return bool(self.upstox.client_id and self.upstox.client_secret.get_secret_value())
