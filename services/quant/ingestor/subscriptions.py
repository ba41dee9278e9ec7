"""Re-exports the feed subscription book for the composition roots that import it from here.

The book and Upstox's limits live in :mod:`quant.upstox.subscriptions` (one table, one
book, next to the facts in :mod:`quant.upstox.constants`); import them from there. This
module goes once ``quant.ingestor.main`` and ``quant.up.platform`` do.
"""

from __future__ import annotations

from quant.upstox.subscriptions import Change, FeedLimits, Refusal, SubscriptionBook

__all__ = ["Change", "FeedLimits", "Refusal", "SubscriptionBook"]
