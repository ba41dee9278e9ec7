"""Where a backtest reads from: its settings, the tick store and the instrument master.

``BacktestSettings`` (prefix ``QUANT_``) follows ``quant backfill``: QuestDB when
``QUANT_QUESTDB__HOST`` (or another ``QUANT_QUESTDB__*``) is set, else the embedded tick
store of ``quant up``, ``ticks.sqlite`` under ``QUANT_DATA_DIR``; the instrument master from
PostgreSQL when ``QUANT_POSTGRES__DSN`` is set, else from the embedded relational store
under ``QUANT_DATA_DIR``. Nothing is downloaded: a backtest uses no network beyond the
configured stores. ``StoreLocation`` is the picklable form a sweep's worker opens again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from quant.backfill.master import stored_master
from quant.core.instruments import Instrument
from quant.core.symbols import InstrumentIndex
from quant.runtime.settings import ServiceSettings
from quant.store.settings import PostgresSettings, QuestDBSettings
from quant.users.settings import DEFAULT_DATA_DIR, RELATIONAL_FILE

TICKS_FILE = "ticks.sqlite"


class SourceError(Exception):
    """The store or the instrument master cannot be used, or a symbol is unknown."""


class BacktestSettings(ServiceSettings):
    """The environment of ``quant backtest`` (see the module docstring)."""

    postgres: PostgresSettings | None = None
    questdb: QuestDBSettings | None = None
    data_dir: Path = DEFAULT_DATA_DIR

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


class StoreLocation(BaseModel):
    """A tick store to open: an embedded SQLite file or a QuestDB server."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["sqlite", "questdb"] = "sqlite"
    path: Path | None = None
    questdb: QuestDBSettings | None = None

    @classmethod
    def of(cls, settings: BacktestSettings) -> StoreLocation:
        if settings.questdb is not None:
            return cls(kind="questdb", questdb=settings.questdb)
        return cls(kind="sqlite", path=settings.data_dir / TICKS_FILE)

    def describe(self) -> str:
        if self.kind == "questdb" and self.questdb is not None:
            return f"QuestDB at {self.questdb.host}"
        return str(self.path)

    def open(self) -> object:
        """The opened tick store (a ``TickReader`` with ``ticks_between``)."""
        if self.kind == "questdb":
            from quant.store.questdb_ticks import QuestDBTickStore

            return QuestDBTickStore.from_settings(self.questdb or QuestDBSettings()).open(
                timeout=10.0
            )
        from quant.store.sqlite_ticks import SqliteTickStore

        if self.path is None or not self.path.exists():
            raise SourceError(
                f"no tick store at {self.path}: backfill history first "
                "(`quant backfill --symbols ... --from ... --to ... --interval 1minute`), "
                "or set QUANT_DATA_DIR / QUANT_QUESTDB__HOST"
            )
        return SqliteTickStore(self.path).open()


def load_master(settings: BacktestSettings) -> tuple[list[Instrument], str]:
    """The instrument master and where it came from; ``SourceError`` when there is none."""
    stored = stored_master(settings.postgres, settings.data_dir)
    if stored is not None:
        return stored
    path = settings.data_dir / RELATIONAL_FILE
    raise SourceError(
        f"no instrument master: {path} has none and QUANT_POSTGRES__DSN is not set "
        "(run `quant sync-instruments`, or `quant up` once, to store it)"
    )


def resolve_symbols(symbols: Sequence[str], master: Sequence[Instrument]) -> dict[str, Instrument]:
    """Instrument key -> instrument for each symbol (trading symbol, index name or key);
    ``SourceError`` naming every unknown one."""
    index = InstrumentIndex.build(master)
    found: dict[str, Instrument] = {}
    unknown: list[str] = []
    for symbol in symbols:
        inst = index.resolve(symbol)
        if inst is None:
            unknown.append(symbol)
        else:
            found[inst.instrument_key] = inst
    if unknown:
        raise SourceError(
            f"unknown symbol(s) {', '.join(unknown)}: not in the instrument master "
            f"({len(master)} instruments; check the spelling, or `quant sync-instruments`)"
        )
    return dict(sorted(found.items()))
