"""``quant backtest``: a run writes its report, clear errors for no data and unknown symbols."""

from __future__ import annotations

from pathlib import Path

import pytest
from backtest_kit import DAY, INSTRUMENTS, RELIANCE, candles_from_closes, store_with_candles

from quant.backtest.config import ConfigFileError, load_config_file
from quant.cli import main
from quant.store.sqlite_relational import SqliteRelationalStore

KIT = Path(__file__).with_name("backtest_kit.py")
CLOSES = (
    [100_000] * 10
    + [100_000 + 500 * i for i in range(1, 20)]
    + [109_500 - 700 * i for i in range(1, 30)]
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store_with_candles(tmp_path, candles_from_closes(RELIANCE, DAY, CLOSES)).close()
    rel = SqliteRelationalStore(tmp_path / "relational.sqlite").open()
    rel.upsert_instruments(INSTRUMENTS.values())
    rel.close()
    monkeypatch.setenv("QUANT_DATA_DIR", str(tmp_path))
    for name in ("QUANT_QUESTDB__HOST", "QUANT_POSTGRES__DSN"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "params.yaml").write_text(
        "params:\n  bar_minutes: 1\n  fast: 2\n  slow: 5\n  quantity: 10\n"
        "backtest:\n  capital: 500000\n"
    )
    return tmp_path


def _args(d: Path, *extra: str) -> list[str]:
    return ["backtest", f"{KIT}:MaCross", "--symbols", "RELIANCE",
            "--config", str(d / "params.yaml"), *extra]  # fmt: skip


def test_a_run_prints_figures_and_writes_the_report(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = data_dir / "out"
    args = _args(data_dir, "--from", "2026-10-05", "--to", "2026-10-06", "--out", str(out))
    assert main([*args, "--progress"]) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "day 2/2" in captured.err  # the progress bar, asked for (stderr is no TTY here)
    assert "trades 1" in text and "net P&L" in text
    for name in ("trades.csv", "equity.csv", "orders.csv", "report.html"):
        assert (out / name).stat().st_size > 0
    trades = (out / "trades.csv").read_text().splitlines()
    assert len(trades) == 2 and ",RELIANCE,LONG,10," in trades[1]
    assert (out / "equity.csv").read_text().splitlines()[1].startswith("2026-10-05,500730.31,")


def test_no_data_says_how_to_backfill(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_args(data_dir, "--from", "2026-11-02", "--to", "2026-11-03"))
    err = capsys.readouterr().err
    assert code == 1
    assert "no 1-minute candles (ohlc) for RELIANCE between 2026-11-02 and 2026-11-03" in err
    assert (
        "quant backfill --symbols RELIANCE --from 2026-11-02 --to 2026-11-03 --interval 1minute"
        in err
    )


def test_an_unreachable_dask_scheduler_is_a_clear_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(data_dir, "--from", "2026-10-05", "--to", "2026-10-05", "--grid", "fast=2,3",
                 "--dask", "tcp://127.0.0.1:1")  # fmt: skip
    import distributed  # noqa: F401 - loads its config defaults
    from dask import config

    with config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main(args) == 1
    assert "cannot run the sweep on the Dask scheduler at tcp://127.0.0.1:1" in (
        capsys.readouterr().err
    )


def test_unknown_symbol_is_named(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(data_dir, "--from", "2026-10-05", "--to", "2026-10-05")
    args[args.index("RELIANCE")] = "RELIANCE,NOSUCH"
    assert main(args) == 1
    assert "unknown symbol(s) NOSUCH" in capsys.readouterr().err


def test_bad_parameters_and_ranges_are_argument_errors(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data_dir / "bad.yaml").write_text("fast: 9\nslow: 5\n")
    args = ["backtest", f"{KIT}:MaCross", "--symbols", "RELIANCE", "--from", "2026-10-05",
            "--to", "2026-10-05", "--config", str(data_dir / "bad.yaml")]  # fmt: skip
    assert main(args) == 2
    assert "fast (9) must be below slow (5)" in capsys.readouterr().err
    assert main(_args(data_dir, "--from", "2026-10-06", "--to", "2026-10-05")) == 2
    assert "is before --from" in capsys.readouterr().err


def test_sweep_prints_a_ranked_table(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(data_dir, "--from", "2026-10-05", "--to", "2026-10-05", "--grid", "fast=2,3",
                 "--grid", "slow=5,8", "--workers", "1")  # fmt: skip
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["#", "fast", "slow", "net"]
    assert len(lines) == 5
    first = lines[1].split()
    assert first[:3] == ["1", "2", "5"]  # the best of the four on this path


def test_config_file_shapes(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("fast: 5\n")
    assert load_config_file(plain) == ({"fast": 5}, {})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1\n")
    with pytest.raises(ConfigFileError, match="must hold a mapping"):
        load_config_file(bad)
