"""The stored instrument master, for the commands that read history (backfill, backtest).

PostgreSQL when ``QUANT_POSTGRES__DSN`` is set, else the embedded store of ``quant up``
under the data directory; ``None`` when neither holds one (each command says what to do).
"""

from __future__ import annotations

from pathlib import Path

from quant.core.instruments import Instrument
from quant.store.settings import PostgresSettings
from quant.users.settings import RELATIONAL_FILE


def stored_master(
    postgres: PostgresSettings | None, data_dir: Path
) -> tuple[list[Instrument], str] | None:
    """The instrument master and where it came from, or ``None`` when none is stored."""
    if postgres is not None:
        from quant.store.postgres import PostgresStore

        pg = PostgresStore.from_settings(postgres).open(timeout=10.0)
        try:
            return pg.list_instruments(), "PostgreSQL"
        finally:
            pg.close()
    path = data_dir / RELATIONAL_FILE
    if path.exists():
        from quant.store.sqlite_relational import SqliteRelationalStore

        sq = SqliteRelationalStore(path).open()
        try:
            found = sq.list_instruments()
        finally:
            sq.close()
        if found:
            return found, str(path)
    return None
