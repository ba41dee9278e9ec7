"""The SQLite retained log of ``quant up``'s bus: latest record per key, across reopenings."""

from __future__ import annotations

from pathlib import Path

from quant.bus.inprocess import InProcessBus
from quant.bus.topics import CONTROL
from quant.store.sqlite_relational import SqliteRelationalStore


def test_put_keeps_the_latest_value_per_key_in_the_order_of_last_writes(tmp_path: Path) -> None:
    store = SqliteRelationalStore(tmp_path / "r.sqlite").open()
    log = store.retained_log()
    log.put("control.commands", "killswitch/account", b"halt")
    log.put("control.commands", "subscription/A", b"add")
    log.put("other", "killswitch/account", b"same key, other topic")
    log.put("control.commands", "killswitch/account", b"resume\x00binary")
    store.close()

    reopened = SqliteRelationalStore(tmp_path / "r.sqlite").open()
    assert reopened.retained_log().load() == [
        ("control.commands", "subscription/A", b"add"),
        ("other", "killswitch/account", b"same key, other topic"),
        ("control.commands", "killswitch/account", b"resume\x00binary"),
    ]
    reopened.close()


def test_a_halt_published_on_the_bus_is_read_by_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "relational.sqlite"
    first = SqliteRelationalStore(path).open()
    InProcessBus(retained=first.retained_log()).publisher().publish(
        CONTROL.name, "killswitch/account", b"halt"
    )
    first.close()

    second = SqliteRelationalStore(path).open()
    bus = InProcessBus(retained=second.retained_log())
    got = bus.consumer("execution-control-run2", [CONTROL.name]).poll(timeout=0)
    assert [(m.key(), m.value()) for m in got] == [(b"killswitch/account", b"halt")]
    second.close()
