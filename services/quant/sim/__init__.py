"""Upstox-compatible simulator: market model, matching engine, REST and feed servers."""
