"""Loading strategy classes from a file or a module path, with clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from quant.strategy.loader import StrategyLoadError, load_strategy, load_strategy_class
from quant.trading.strategy import InvalidParams, Strategy

SOURCE = """
from quant.trading.strategy import Strategy, StrategyParams


class CrossParams(StrategyParams):
    fast: int = 5
    slow: int = 20


class Cross(Strategy[CrossParams]):
    pass


class Other(Strategy):
    pass


NOT_A_CLASS = 3


class Plain:
    pass
"""


@pytest.fixture
def strategy_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_cross.py"
    path.write_text(SOURCE)
    return path


def test_load_from_a_file_path_absolute_or_relative(strategy_file: Path) -> None:
    cls = load_strategy_class(f"{strategy_file}:Cross")
    assert issubclass(cls, Strategy) and cls.__name__ == "Cross"
    assert cls.__module__ in sys.modules
    relative = load_strategy_class("my_cross.py:Cross", base_dir=strategy_file.parent)
    assert relative.__name__ == "Cross"
    loaded = load_strategy(f"{strategy_file}:Cross", {"fast": 3})
    assert loaded.params.model_dump() == {"fast": 3, "slow": 20}


def test_load_from_a_module_path(strategy_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(strategy_file.parent))
    monkeypatch.delitem(sys.modules, "my_cross", raising=False)
    cls = load_strategy_class("my_cross:Other")
    assert cls.__name__ == "Other" and cls.__module__ == "my_cross"
    shipped = load_strategy_class("quant.trading.strategy:Strategy")
    assert shipped is Strategy


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{file}", "must be 'package.module:ClassName'"),
        ("{file}:", "must be 'package.module:ClassName'"),
        ("{file}:not-a-name", "is not a class name"),
        ("{dir}/missing.py:Cross", "missing.py does not exist"),
        ("{file}:Nope", "has no class 'Nope'; strategies there: Cross, Other"),
        ("{file}:NOT_A_CLASS", "is not a subclass of quant.trading.strategy.Strategy"),
        ("{file}:Plain", "is not a subclass of quant.trading.strategy.Strategy"),
        ("no_such_package.mod:Cross", "no module named 'no_such_package.mod'"),
        ("quant.core.clock:Clock", "is not a subclass"),
        ("quant.core.clock:Nope", "has no class 'Nope'; it defines no Strategy"),
    ],
)
def test_load_errors_say_what_is_wrong(strategy_file: Path, spec: str, message: str) -> None:
    spec = spec.format(file=strategy_file, dir=strategy_file.parent)
    with pytest.raises(StrategyLoadError, match=message.replace(".", r"\.")):
        load_strategy_class(spec)


def test_an_error_inside_the_file_is_reported_with_its_exception(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import not_installed_package_xyz\n")
    with pytest.raises(
        StrategyLoadError,
        match=r"importing strategy file .*broken\.py failed: "
        r"ModuleNotFoundError: No module named 'not_installed_package_xyz'",
    ):
        load_strategy_class(f"{broken}:X")
    syntax = tmp_path / "syntax.py"
    syntax.write_text("def f(:\n")
    with pytest.raises(StrategyLoadError, match="SyntaxError"):
        load_strategy_class(f"{syntax}:X")


def test_a_module_whose_own_import_fails_is_not_called_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needs_dep.py").write_text("import not_installed_package_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StrategyLoadError, match="importing strategy module 'needs_dep' failed"):
        load_strategy_class("needs_dep:X")


def test_invalid_params_carry_the_pydantic_message(strategy_file: Path) -> None:
    with pytest.raises(InvalidParams) as err:
        load_strategy(f"{strategy_file}:Cross", {"fast": "quick", "window": 3})
    text = str(err.value)
    assert "invalid parameters for strategy Cross (CrossParams)" in text
    assert "fast\n  Input should be a valid integer" in text
    assert "window\n  Extra inputs are not permitted" in text
