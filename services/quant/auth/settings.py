"""The one settings object of ``quant auth`` (built in its command's run function)."""

from __future__ import annotations

from quant.runtime.settings import ServiceSettings
from quant.upstox.settings import UpstoxSettings


class AuthSettings(ServiceSettings):
    """Settings of ``quant auth`` (env prefix ``QUANT_``, nesting with ``__``)."""

    upstox: UpstoxSettings = UpstoxSettings()
    k8s_secret: str = ""
