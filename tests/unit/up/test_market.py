"""``quant up --source upstox`` checks the stored token before starting, against a real
simulator over TLS (verified with the simulator's CA file): accepted, none, unreadable,
expired by its saved expiry, revoked at the server, and an untrusted server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from quant.core.clock import FakeClock
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.up.market import MarketUnavailable, check_token
from quant.up.settings import UpSettings
from quant.upstox.auth import AccessToken, FileTokenStore, token_expiry_ns
from quant.upstox.settings import UpstoxSettings


@pytest.fixture(name="sim")
async def sim_fixture() -> AsyncIterator[SimServer]:
    config = SimConfig(tls=True, extra_equities=5, fno_extra_underlyings=1, step_interval=3600)
    async with SimServer(config) as server:
        yield server


def _upstox(sim: SimServer, token_file: Path, **kw: object) -> UpstoxSettings:
    base = sim.base_url
    fields: dict[str, object] = {
        "api_base": base,
        "hft_base": base,
        "assets_base": base,
        "ca_file": sim.ca_file,
        "token_file": token_file,
    }
    fields.update(kw)
    return UpstoxSettings.model_validate(fields)


def _save(sim: SimServer, path: Path, token: str | None = None) -> AccessToken:
    value = token or sim.mint_token()
    now = sim.clock.now_ns()
    stored = AccessToken(SecretStr(value), token_expiry_ns(value, now), now, "SIM001")
    FileTokenStore(path).save(stored)
    return stored


async def test_a_token_the_server_accepts_is_returned(sim: SimServer, tmp_path: Path) -> None:
    saved = _save(sim, tmp_path / "token.json")
    token = await check_token(_upstox(sim, tmp_path / "token.json"), FakeClock(sim.clock.now_ns()))
    assert token.token.get_secret_value() == saved.token.get_secret_value()


async def test_no_token_says_run_quant_auth_login(sim: SimServer, tmp_path: Path) -> None:
    with pytest.raises(MarketUnavailable, match=r"no Upstox access token at .*quant auth login"):
        await check_token(_upstox(sim, tmp_path / "none.json"), FakeClock(sim.clock.now_ns()))


async def test_an_unreadable_token_file_is_said(sim: SimServer, tmp_path: Path) -> None:
    (tmp_path / "token.json").write_text("two words\n")
    with pytest.raises(MarketUnavailable, match=r"cannot read the Upstox token file"):
        await check_token(_upstox(sim, tmp_path / "token.json"), FakeClock(sim.clock.now_ns()))


async def test_a_token_past_its_saved_expiry_is_refused_without_asking(
    sim: SimServer, tmp_path: Path
) -> None:
    saved = _save(sim, tmp_path / "token.json")
    later = FakeClock(saved.expires_at_ns)
    with pytest.raises(MarketUnavailable, match=r"SIM001.*has expired: run `quant auth login`"):
        await check_token(_upstox(sim, tmp_path / "token.json"), later)


async def test_a_revoked_token_is_refused_by_the_server(sim: SimServer, tmp_path: Path) -> None:
    saved = _save(sim, tmp_path / "token.json")
    sim.state.tokens.revoke(saved.token.get_secret_value())
    with pytest.raises(MarketUnavailable, match=r"refused the token .*expired or revoked"):
        await check_token(_upstox(sim, tmp_path / "token.json"), FakeClock(sim.clock.now_ns()))


async def test_an_untrusted_server_is_not_talked_to(sim: SimServer, tmp_path: Path) -> None:
    _save(sim, tmp_path / "token.json")
    upstox = _upstox(sim, tmp_path / "token.json", ca_file=None)  # TLS verification stays on
    with pytest.raises(MarketUnavailable, match=r"CERTIFICATE_VERIFY_FAILED.*CA_FILE"):
        await check_token(upstox, FakeClock(sim.clock.now_ns()))


def test_settings_default_to_the_simulator_and_an_absolute_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUANT_DATA_DIR", "rel/dir")
    monkeypatch.setenv("QUANT_UPSTOX__API_BASE", "https://upstox.example")
    settings = UpSettings()
    assert settings.source == "sim"
    assert settings.data_dir == tmp_path / "rel" / "dir"
    assert settings.upstox.api_base == "https://upstox.example"
    monkeypatch.setenv("QUANT_SOURCE", "upstox")
    assert UpSettings().source == "upstox"
    monkeypatch.setenv("QUANT_SOURCE", json.dumps("kite"))
    with pytest.raises(ValueError, match="source"):
        UpSettings()
