"""ExecutionSettings: env parsing, rupees -> paise limits, clear errors for bad values."""

from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from quant.execution.settings import ExecutionSettings
from quant.trading.ratelimit import RateMode
from quant.trading.risk_limits import FreezePolicy, StrategyLimits


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("QUANT_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_specs() -> None:
    s = ExecutionSettings()
    assert (s.mode, s.api_host, s.api_port) == ("paper", "0.0.0.0", 8081)  # noqa: S104
    limits = s.risk.to_limits()
    assert limits.max_order_value == 0 and limits.max_daily_loss == 0
    assert limits.market_protection_pct == 5
    assert limits.max_quote_age_ns == 5_000_000_000
    assert limits.allow_amo and limits.freeze_policy is FreezePolicy.SPLIT
    assert [w.limit for w in s.rate.to_limiter().windows] == [10, 500, 2000]
    assert s.square_off_at == time(15, 15)
    assert s.paper.to_config().stale_after_ns == 2_000_000_000


def test_env_limits_in_rupees_become_paise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANT_MODE", "live")
    monkeypatch.setenv("QUANT_RISK__MAX_ORDER_VALUE", "250000.50")
    monkeypatch.setenv("QUANT_RISK__MAX_POSITION_VALUE", "1000000")
    monkeypatch.setenv("QUANT_RISK__MAX_DAILY_LOSS", "5000.05")
    monkeypatch.setenv("QUANT_RISK__MAX_OPEN_ORDERS", "40")
    monkeypatch.setenv("QUANT_RISK__FREEZE_POLICY", "reject")
    monkeypatch.setenv("QUANT_RISK__MAX_QUOTE_AGE_S", "1.5")
    monkeypatch.setenv(
        "QUANT_RISK__STRATEGIES",
        '{"mom": {"max_position_quantity": 500, "max_exposure": "100000.25",'
        ' "max_daily_loss": 2500}}',
    )
    monkeypatch.setenv("QUANT_RATE__ORDERS_PER_SECOND", "50")
    monkeypatch.setenv("QUANT_RATE__MODE", "reject")
    monkeypatch.setenv("QUANT_ALGO_NAMES", '{"mom": "MOM-1"}')
    monkeypatch.setenv("QUANT_DEFAULT_ALGO_NAME", "house")
    monkeypatch.setenv("QUANT_SQUARE_OFF_AT", "15:05")
    monkeypatch.setenv("QUANT_PAPER__LATENCY_MS", "20")
    monkeypatch.setenv("QUANT_PAPER__JITTER_MS", "5")
    monkeypatch.setenv("QUANT_API_PORT", "9081")
    s = ExecutionSettings()
    limits = s.risk.to_limits()
    assert limits.max_order_value == 25_000_050
    assert limits.max_position_value == 100_000_000
    assert limits.max_daily_loss == 500_005
    assert limits.max_open_orders == 40
    assert limits.freeze_policy is FreezePolicy.REJECT
    assert limits.max_quote_age_ns == 1_500_000_000
    assert limits.for_strategy("mom") == StrategyLimits(500, 10_000_025, 250_000)
    assert limits.for_strategy("other") == StrategyLimits()
    limiter = s.rate.to_limiter()
    assert limiter.windows[0].limit == 50
    assert RateMode(s.rate.mode) is RateMode.REJECT
    assert (s.mode, s.api_port, s.square_off_at) == ("live", 9081, time(15, 5))
    assert s.algo_name_for("mom") == "MOM-1" and s.algo_name_for("x") == "house"
    paper = s.paper.to_config()
    assert (paper.latency_ns, paper.jitter_ns) == (20_000_000, 5_000_000)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("QUANT_RISK__MAX_ORDER_VALUE", "10.005", "fraction of a paisa"),
        ("QUANT_RISK__MAX_DAILY_LOSS", "-1", "negative"),
        ("QUANT_RISK__MAX_POSITION_VALUE", "lots", "decimal"),
        ("QUANT_RISK__MARKET_PROTECTION_PCT", "30", "less than or equal to 25"),
        ("QUANT_RISK__FREEZE_POLICY", "slice", "'split' or 'reject'"),
        ("QUANT_RATE__ORDERS_PER_SECOND", "51", "less than or equal to 50"),
        ("QUANT_RATE__MODE", "drop", "'queue' or 'reject'"),
        ("QUANT_MODE", "real", "'paper' or 'live'"),
        ("QUANT_SQUARE_OFF_AT", "15:45", "before the normal close"),
        ("QUANT_ALGO_NAMES", '{"mom": " "}', "empty algo name"),
        ("QUANT_RISK__STRATEGIES", '{"mom": {"max_exposur": 1}}', "max_exposur"),
        ("QUANT_PAPER__LATENCY_MS", "-5", "greater than or equal to 0"),
    ],
)
def test_bad_values_name_the_setting_and_the_problem(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        ExecutionSettings()
    text = str(info.value)
    field = name.removeprefix("QUANT_").lower().split("__")[-1]
    assert field in text and words in text, text
