"""The one settings object of ``quant auth`` (built in its command's run function)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from quant.upstox.settings import UpstoxSettings


class AuthSettings(BaseSettings):
    """Settings of ``quant auth`` (env prefix ``QUANT_``, nesting with ``__``)."""

    model_config = SettingsConfigDict(
        env_prefix="QUANT_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    upstox: UpstoxSettings = UpstoxSettings()
    k8s_secret: str = ""
    log_level: str = "INFO"
