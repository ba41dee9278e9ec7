"""quant-platform: an event-driven algorithmic trading platform for NSE/BSE on Upstox V3.

Subpackages: ``core`` and ``analytics`` are the pure domain; ``upstox``, ``bus``, ``store``
and ``sim`` are adapters; one subpackage per service holds its composition root.
"""

__version__ = "0.1.0"
