"""``quant up`` runs the shipped example strategy in paper mode by default; ``--no-strategy``
(``QUANT_STRATEGY=false``) turns it off. It runs before the execution service in the stop
order, so its last orders still reach it."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from quant.bus.inprocess import InProcessBus
from quant.cli import build_parser
from quant.core.clock import FakeClock
from quant.runtime.deps import Deps, FixedCatalog
from quant.runtime.status import StatusBoard
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.store.sqlite_ticks import SqliteTickStore
from quant.strategy.examples.ma_cross import MaCross
from quant.strategy.service import StrategyService
from quant.up.market import Market
from quant.up.platform import _services, example_strategy, strategy_settings
from quant.up.settings import UpSettings
from quant.upstox.settings import UpstoxSettings


def _market() -> Market:
    url = "http://127.0.0.1:1"
    upstox = UpstoxSettings(api_base=url, hft_base=url, assets_base=url)
    return Market("sim", upstox, [], lambda: "token", "sim", FakeClock(0))


def test_the_example_runs_in_paper_mode_with_the_platform_s_algo_name(tmp_path: Path) -> None:
    (loaded,) = example_strategy(UpSettings(data_dir=tmp_path))
    assert loaded.cls is MaCross
    assert (loaded.entry.id, loaded.entry.mode, loaded.entry.algo_name) == (
        "macross",
        "paper",
        "quant-up",
    )
    assert loaded.params.bar_minutes == 1  # type: ignore[attr-defined]
    (live,) = example_strategy(UpSettings(data_dir=tmp_path, broker="upstox"))
    assert live.entry.mode == "live"
    config = strategy_settings(UpSettings(data_dir=tmp_path))
    assert config.state_dir == tmp_path / "strategies"
    assert config.metrics_port == 0


def _deps() -> Deps:
    registry = CollectorRegistry()
    return Deps(
        clock=FakeClock(0),
        registry=registry,
        board=StatusBoard(registry),
        bus=InProcessBus(),
        instruments=FixedCatalog([], "the test"),
        relational=SqliteRelationalStore().open(),
        tick_store=SqliteTickStore().open(),
        token=lambda: "token",
    )


def test_the_strategy_service_is_on_by_default_and_stops_before_execution(tmp_path: Path) -> None:
    names = [s.name for s in _services(UpSettings(data_dir=tmp_path), _deps(), _market(), print)]
    assert names.index("strategy") == names.index("execution") - 1
    services = _services(UpSettings(data_dir=tmp_path), _deps(), _market(), print)
    assert any(isinstance(s, StrategyService) for s in services)
    off = UpSettings(data_dir=tmp_path, strategy=False)
    assert "strategy" not in [s.name for s in _services(off, _deps(), _market(), print)]
    assert build_parser().parse_args(["up", "--no-strategy"]).no_strategy is True
