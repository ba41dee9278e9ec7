"""``quant strategy run``: the strategies' configuration is checked before anything starts;
bad parameters, a bad file or clashing ids exit 2 with a message saying what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from quant.cli import main
from quant.strategy.config import load_strategies, strategy_entries
from quant.trading.strategy import InvalidParams

SPEC = "quant.strategy.examples.ma_cross:MaCross"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["strategy", "run", *argv])
    return code, capsys.readouterr().err


def test_invalid_parameters_exit_2_with_pydantic_s_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("fast: quick\nslow: 20\n")
    code, err = _run(capsys, SPEC, "--config", str(params))
    assert code == 2
    assert "strategy macross: invalid parameters for strategy MaCross (MaCrossParams)" in err
    assert "fast" in err and "quick" in err
    params.write_text("fast: 30\nslow: 20\n")
    code, err = _run(capsys, SPEC, "--config", str(params))
    assert (code, "fast (30) must be below slow (20)" in err) == (2, True)
    params.write_text("fast: 3\nslow: 20\ncolour: red\n")
    code, err = _run(capsys, SPEC, "--config", str(params))
    assert (code, "colour" in err) == (2, True)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("strategies:\n  - id: a\n    class: " + SPEC + "\n    mode: real\n", "mode"),
        ("strategies:\n  - id: a\n    class: " + SPEC + "\n    colour: red\n", "colour"),
        (
            "strategies:\n  - {id: a, class: " + SPEC + "}\n  - {id: a, class: " + SPEC + "}\n",
            "used twice: ['a']",
        ),
        ("strategies:\n  - {id: 'a b', class: " + SPEC + "}\n", "id"),
        ("strategies: [\n", "not valid YAML"),
        ("- 1\n- 2\n", "must be a mapping"),
        (
            "strategies:\n  - {id: a, class: 'nowhere.at_all:X'}\n",
            "no module named 'nowhere.at_all'",
        ),
        ("strategies: []\n", "no strategy to run"),
    ],
)
def test_a_bad_config_file_exits_2_saying_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: str, message: str
) -> None:
    config = tmp_path / "strategies.yaml"
    config.write_text(document)
    code, err = _run(capsys, "--config", str(config))
    assert code == 2
    assert message in err, err


def test_a_config_file_lists_strategies_and_specs_add_to_it(tmp_path: Path) -> None:
    config = tmp_path / "strategies.yaml"
    config.write_text(
        "strategies:\n"
        "  - id: fast\n"
        f"    class: {SPEC}\n"
        "    params: {fast: 2, slow: 5, bar_minutes: 1}\n"
        "    algo_name: MAC-1\n"
        "    mode: live\n"
    )
    entries = strategy_entries([SPEC], config)
    assert [(e.id, e.algo_name, e.mode) for e in entries] == [
        ("fast", "MAC-1", "live"),
        ("macross", "", "paper"),
    ]
    loaded = load_strategies(entries)
    assert loaded[0].params.model_dump()["slow"] == 5
    config.write_text(
        f"strategies:\n  - {{id: fast, class: {SPEC}, params: {{fast: 9, slow: 5}}}}\n"
    )
    with pytest.raises(InvalidParams, match="strategy fast: invalid parameters"):
        load_strategies(strategy_entries([], config))


def test_flags_for_one_spec_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, SPEC, SPEC, "--id", "x")
    assert (code, "exactly one SPEC" in err) == (2, True)
    code, err = _run(capsys, "quant.strategy.examples.ma_cross:Nope")
    assert code == 2
    assert "has no class 'Nope'; strategies there: MaCross" in err


def test_with_no_spec_the_strategies_come_from_quant_strategy_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "strategies.yaml"
    config.write_text(f"strategies:\n  - {{id: a, class: {SPEC}, params: {{fast: 9, slow: 5}}}}\n")
    monkeypatch.setenv("QUANT_STRATEGY_CONFIG", str(config))
    code, err = _run(capsys)
    assert code == 2
    assert "strategy a: invalid parameters" in err  # the file was read
    monkeypatch.setenv("QUANT_STRATEGY_CONFIG", str(tmp_path / "missing.yaml"))
    code, err = _run(capsys)
    assert (code, "cannot read the config" in err) == (2, True)
