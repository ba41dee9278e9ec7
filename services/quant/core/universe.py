"""Resolve a configured universe into (instrument_key, feed mode) pairs.

The ingestor subscribes it; the feature engine prices the options on its underlyings.

Entries are instrument keys (``NSE_EQ|INE002A01018``), trading symbols or index names
resolved through the instrument master (``RELIANCE``, ``NIFTY 50``), or expansions:
``OPTIONS:<underlying>`` (the nearest expiry's option chain) and ``FUTURES:<underlying>``.
The mode follows the instrument type (:class:`ModePolicy`): indices and futures in
``full``, options in ``full`` or ``option_greeks``, equities in ``full`` or ``ltpc``.
Called by the ingestor and the feature service when they start; pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from quant.core.events import FeedMode
from quant.core.instruments import Instrument, InstrumentType, validate_instrument_key
from quant.core.symbols import InstrumentIndex


@dataclass(frozen=True)
class ModePolicy:
    """Feed mode per instrument type."""

    equity: FeedMode = FeedMode.FULL
    option: FeedMode = FeedMode.FULL
    index: FeedMode = FeedMode.FULL
    future: FeedMode = FeedMode.FULL

    def __post_init__(self) -> None:
        if self.equity not in (FeedMode.FULL, FeedMode.LTPC, FeedMode.FULL_D30):
            raise ValueError(f"equities subscribe in full or ltpc, not {self.equity.wire_name}")
        if self.option not in (FeedMode.FULL, FeedMode.OPTION_GREEKS, FeedMode.FULL_D30):
            raise ValueError(
                f"options subscribe in full or option_greeks, not {self.option.wire_name}"
            )

    def mode_for(self, inst: Instrument) -> FeedMode:
        kind = inst.instrument_type
        if kind is InstrumentType.INDEX:
            return self.index
        if kind in (InstrumentType.CALL, InstrumentType.PUT):
            return self.option
        if kind is InstrumentType.FUTURE:
            return self.future
        return self.equity

    def mode_for_key(self, instrument_key: str) -> FeedMode:
        """Best guess for a key missing from the master: by segment."""
        segment = instrument_key.partition("|")[0]
        if segment.endswith("_INDEX"):
            return self.index
        if segment.endswith("_FO"):
            return self.future
        return self.equity


@dataclass
class Universe:
    """The resolved universe: modes by key, plus the entries that did not resolve."""

    modes: dict[str, FeedMode] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)

    def by_mode(self) -> dict[FeedMode, list[str]]:
        out: dict[FeedMode, list[str]] = {}
        for key, mode in self.modes.items():
            out.setdefault(mode, []).append(key)
        return out


def resolve_universe(
    entries: Iterable[str], index: InstrumentIndex, policy: ModePolicy | None = None
) -> Universe:
    """Resolve configured entries; unknown names go to ``unresolved`` (never guessed)."""
    policy = policy or ModePolicy()
    universe = Universe()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        prefix, sep, rest = entry.partition(":")
        if sep and prefix.upper() in ("OPTIONS", "FUTURES"):
            expanded = _expand(prefix.upper(), rest, index)
            if not expanded:
                universe.unresolved.append(entry)
            for member in expanded:
                universe.modes[member.instrument_key] = policy.mode_for(member)
            continue
        found = index.resolve(entry)
        if found is not None:
            universe.modes[found.instrument_key] = policy.mode_for(found)
        elif "|" in entry:
            try:
                key = validate_instrument_key(entry)
            except ValueError:
                universe.unresolved.append(entry)
                continue
            universe.modes[key] = policy.mode_for_key(key)
        else:
            universe.unresolved.append(entry)
    return universe


def _expand(kind: str, underlying: str, index: InstrumentIndex) -> list[Instrument]:
    base = index.resolve(underlying.strip())
    if base is None:
        return []
    derivs = index.derivatives_of(base.instrument_key)
    if kind == "FUTURES":
        return sorted(
            (d for d in derivs if d.instrument_type is InstrumentType.FUTURE),
            key=lambda d: (d.expiry is None, d.expiry),
        )
    chain = index.option_chain(base.instrument_key)
    if not chain:
        return []
    nearest = chain[0].expiry
    return [o for o in chain if o.expiry == nearest]


def options_on_underlyings(index: InstrumentIndex, universe: Universe) -> list[Instrument]:
    """Every option on an underlying of ``universe`` (an option's own underlying counts).

    The feature engine prices these: registering all ~20k options of the master would
    cost start-up time for nothing when only the universe's options tick.
    """
    underlyings: set[str] = set()
    for key in universe.modes:
        inst = index.get(key)
        if inst is not None:
            underlyings.add(inst.underlying_key if inst.is_option else key)
    return [o for u in sorted(underlyings) for o in index.option_chain(u)]
