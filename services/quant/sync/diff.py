"""What a new instrument master changes against the stored one: inserted, updated, expired.

Pure; ``quant.sync.service`` computes the diff after the download parsed completely and
before it opens the store transaction, and reports its counts. An instrument is
*updated* when any field differs (lot size, tick size, freeze quantity, expiry,
symbol...), *expired* when it is stored as active but absent from the new master
(Upstox drops expired and delisted rows each morning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from quant.core.instruments import Instrument


@dataclass(frozen=True)
class MasterDiff:
    inserted: list[Instrument] = field(default_factory=list)
    updated: list[Instrument] = field(default_factory=list)
    unchanged: int = 0
    expired: list[str] = field(default_factory=list)

    @property
    def upserts(self) -> list[Instrument]:
        return [*self.inserted, *self.updated]

    def summary(self) -> dict[str, int]:
        return {
            "inserted": len(self.inserted),
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "expired": len(self.expired),
        }


def diff_master(new: Iterable[Instrument], stored: Mapping[str, Instrument]) -> MasterDiff:
    """Compare a freshly parsed master with the stored active instruments (by key)."""
    inserted: list[Instrument] = []
    updated: list[Instrument] = []
    unchanged = 0
    seen: set[str] = set()
    for inst in new:
        if inst.instrument_key in seen:
            raise ValueError(f"instrument master lists {inst.instrument_key!r} twice")
        seen.add(inst.instrument_key)
        old = stored.get(inst.instrument_key)
        if old is None:
            inserted.append(inst)
        elif old != inst:
            updated.append(inst)
        else:
            unchanged += 1
    expired = sorted(k for k in stored if k not in seen)
    return MasterDiff(inserted, updated, unchanged, expired)
