"""The backtest: replays stored history through the same strategy API, risk checks, OMS,
paper broker and charges as paper trading, and writes the report (trades.csv, equity.csv
and a self-contained report.html, see :mod:`quant.backtest.report`).

The replay engine comes later; the report takes plain inputs (daily equity, round-trip
trades, candles) so it does not depend on it.
"""
