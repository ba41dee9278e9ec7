"""``FileSnapshotStore``: pieces written once, the old snapshot whole until the new one is."""

from __future__ import annotations

from pathlib import Path

import pytest

from quant.analytics.columns import from_ticks
from quant.analytics.engine import FeatureEngine
from quant.core.clock import FakeClock
from quant.core.events import FeedMode, Tick
from quant.features.adapters import AnalyticsEngine
from quant.features.ports import Piece, join_parts
from quant.features.snapshots import FileSnapshotStore, SnapshotFileError

T0 = 1_795_500_000_000_000_000


def _pieces(path: Path) -> list[str]:
    return sorted(p.name for p in path.with_name(path.name + ".pieces").iterdir())


def test_a_piece_already_held_is_not_written_again(tmp_path: Path) -> None:
    path = tmp_path / "f.snap"
    store = FileSnapshotStore(path)
    big = Piece("a.ts", b"x" * 100_000)
    store.save([b"head-1", big, b"tail"])
    assert store.last_written > 100_000
    store.save([b"head-2", big, Piece("b.ts", b"y" * 10), b"tail"])
    assert store.last_written < 1_000  # the main file and the new piece only
    assert store.last_size == 6 + 100_000 + 10 + 4
    assert store.load() == b"head-2" + b"x" * 100_000 + b"y" * 10 + b"tail"
    assert _pieces(path) == ["a.ts", "b.ts"]


def test_pieces_the_new_snapshot_does_not_name_are_deleted(tmp_path: Path) -> None:
    path = tmp_path / "f.snap"
    store = FileSnapshotStore(path)
    store.save([b"h", Piece("old.ts", b"1" * 10)])
    (path.with_name("f.snap.pieces") / "left-by-a-crash.tmp").write_bytes(b"junk")
    store.save([b"h", Piece("new.ts", b"2" * 10)])
    assert _pieces(path) == ["new.ts"]
    assert store.load() == b"h" + b"2" * 10


def test_a_crash_before_the_main_file_is_replaced_keeps_the_previous_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.snap"
    store = FileSnapshotStore(path)
    store.save([b"v1", Piece("l1.ts", b"a" * 50)])

    def crash(self: Path, target: Path) -> Path:
        if target == path:
            raise OSError("power lost")
        return original(self, target)

    original = Path.replace
    monkeypatch.setattr(Path, "replace", crash)
    with pytest.raises(OSError, match="power lost"):
        store.save([b"v2", Piece("l2.ts", b"b" * 50)])
    monkeypatch.undo()
    assert FileSnapshotStore(path).load() == b"v1" + b"a" * 50  # l1 was not deleted


def test_a_missing_piece_is_reported_not_silently_skipped(tmp_path: Path) -> None:
    path = tmp_path / "f.snap"
    FileSnapshotStore(path).save([b"h", Piece("l1.ts", b"a" * 50)])
    (path.with_name("f.snap.pieces") / "l1.ts").unlink()
    with pytest.raises(SnapshotFileError, match=r"piece 'l1\.ts' is missing"):
        FileSnapshotStore(path).load()


def test_a_piece_name_that_is_not_a_plain_file_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a plain file name"):
        FileSnapshotStore(tmp_path / "f.snap").save([Piece("../escape", b"x")])


def test_a_whole_snapshot_from_before_pieces_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "f.snap"
    path.write_bytes(b"an old single-file snapshot")
    assert FileSnapshotStore(path).load() == b"an old single-file snapshot"
    assert FileSnapshotStore(tmp_path / "none.snap").load() is None


def test_checkpoints_of_a_running_engine_write_only_what_changed(tmp_path: Path) -> None:
    """Engine snapshots every "5 s" of a steady stream: after the first save, each save
    writes far less than the snapshot holds, and every saved blob restores exactly."""
    clock = FakeClock(T0)
    engine = AnalyticsEngine(FeatureEngine(clock))
    store = FileSnapshotStore(tmp_path / "features.snap")
    keys = [f"NSE_EQ|K{i:03d}" for i in range(50)]
    written, sizes = [], []
    for step in range(30):
        ticks = [
            Tick(keys[j % 50], FeedMode.LTPC, T0 + (step * 500 + j) * 10_000_000, 0,
                 100_000 + j % 7, T0 + (step * 500 + j) * 10_000_000, 1 + j % 5,
                 volume=step * 10_000 + j + 1)
            for j in range(500)
        ]  # fmt: skip
        engine.process(from_ticks(ticks))
        parts = engine.snapshot_later()()
        store.save(parts)
        written.append(store.last_written)
        sizes.append(store.last_size)
        assert store.load() == join_parts(parts)
    assert sum(written[10:]) < 0.5 * sum(sizes[10:])
    restored = AnalyticsEngine(FeatureEngine(clock))
    blob = store.load()
    assert blob is not None
    restored.restore(blob)
    assert restored.snapshot() == engine.snapshot()
