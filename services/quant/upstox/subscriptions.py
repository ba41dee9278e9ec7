"""Client-side book of feed subscriptions, enforcing Upstox's per-mode key limits.

Owned by :class:`quant.upstox.feed.UpstoxFeedClient`: every ``sub``/``unsub``/
``change_mode`` is applied here first (raising :class:`FeedSubscriptionLimitError`
before anything is sent), and after a reconnect the book is replayed. Limits follow
UPSTOX.md §2.3: when only one mode is in use its *individual* limit applies (LTPC 5000,
option greeks 3000, full 2000); when several modes are in use each is held to its
*combined* limit (2000, 2000, 1500). ``full_d30`` needs Upstox Plus and allows 50 keys.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from quant.core.events import FeedMode
from quant.core.instruments import validate_instrument_key
from quant.upstox.constants import FEED_COMBINED_LIMITS, FEED_INDIVIDUAL_LIMITS
from quant.upstox.errors import FeedSubscriptionLimitError


class SubscriptionBook:
    """Which instrument is subscribed in which mode, with limit checks."""

    def __init__(
        self,
        *,
        individual: Mapping[FeedMode, int] = FEED_INDIVIDUAL_LIMITS,
        combined: Mapping[FeedMode, int] = FEED_COMBINED_LIMITS,
        upstox_plus: bool = False,
        enforce: bool = True,
    ) -> None:
        self._individual = dict(individual)
        self._combined = dict(combined)
        self._plus = upstox_plus
        self._enforce = enforce
        self._mode_of: dict[str, FeedMode] = {}

    def __len__(self) -> int:
        return len(self._mode_of)

    def __contains__(self, key: object) -> bool:
        return key in self._mode_of

    def mode_of(self, key: str) -> FeedMode | None:
        return self._mode_of.get(key)

    def counts(self) -> dict[FeedMode, int]:
        out = dict.fromkeys(FeedMode, 0)
        for mode in self._mode_of.values():
            out[mode] += 1
        return out

    def by_mode(self) -> dict[FeedMode, list[str]]:
        """Subscribed keys grouped by mode (what a reconnect replays), sorted for stability."""
        out: dict[FeedMode, list[str]] = {}
        for key, mode in sorted(self._mode_of.items()):
            out.setdefault(mode, []).append(key)
        return out

    def _check(self, proposed: dict[str, FeedMode]) -> None:
        if not self._enforce:
            return
        counts = dict.fromkeys(FeedMode, 0)
        for mode in proposed.values():
            counts[mode] += 1
        if counts[FeedMode.FULL_D30] and not self._plus:
            raise FeedSubscriptionLimitError("mode full_d30 needs an Upstox Plus plan")
        active = [m for m, n in counts.items() if n]
        table = self._individual if len(active) <= 1 else self._combined
        kind = "individual" if len(active) <= 1 else "combined"
        for mode in active:
            if counts[mode] > table[mode]:
                raise FeedSubscriptionLimitError(
                    f"subscription refused: {counts[mode]} keys in mode {mode.wire_name} exceeds "
                    f"Upstox's {kind} limit of {table[mode]} "
                    f"(modes in use: {', '.join(m.wire_name for m in active)})"
                )

    def subscribe(self, keys: Iterable[str], mode: FeedMode) -> list[str]:
        """Add (or move) ``keys`` to ``mode``; return them. Raises if a limit would break."""
        wanted = [validate_instrument_key(k) for k in dict.fromkeys(keys)]
        proposed = dict(self._mode_of)
        proposed.update(dict.fromkeys(wanted, mode))
        self._check(proposed)
        self._mode_of = proposed
        return wanted

    def change_mode(self, keys: Iterable[str], mode: FeedMode) -> list[str]:
        """Move subscribed ``keys`` to ``mode``; unknown keys are an error."""
        wanted = list(dict.fromkeys(keys))
        missing = [k for k in wanted if k not in self._mode_of]
        if missing:
            raise ValueError(f"change_mode for keys that are not subscribed: {missing[:5]}")
        return self.subscribe(wanted, mode)

    def unsubscribe(self, keys: Iterable[str]) -> list[str]:
        """Remove ``keys``; return the ones that were subscribed."""
        removed = [k for k in dict.fromkeys(keys) if k in self._mode_of]
        for key in removed:
            del self._mode_of[key]
        return removed
