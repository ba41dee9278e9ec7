"""Instrument sync (``quant sync-instruments``): Upstox instrument master -> relational store."""
