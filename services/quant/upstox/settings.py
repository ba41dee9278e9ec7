"""The Upstox section of a service's settings (``QUANT_UPSTOX__API_BASE``, ...).

Where Upstox (or the simulator) lives and where the access token is kept; services turn
it into :class:`quant.upstox.config.RestConfig` / ``FeedConfig`` for the clients.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr


class UpstoxSettings(BaseModel):
    """Hosts, OAuth client and token location; the defaults point at Upstox itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_base: str = "https://api.upstox.com"
    hft_base: str = "https://api-hft.upstox.com"
    assets_base: str = "https://assets.upstox.com"
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    redirect_uri: str = "http://127.0.0.1:8767/callback"
    token_file: Path = Path.home() / ".config" / "quant-platform" / "upstox-token.json"
    ca_file: Path | None = None
