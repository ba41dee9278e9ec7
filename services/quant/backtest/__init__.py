"""The backtest: replays stored history through the same strategy API, risk checks, OMS,
paper broker and charges as paper trading, and writes the report (trades.csv, equity.csv
and a self-contained report.html, see :mod:`quant.backtest.report`).

Modules: ``replay`` (the run on a simulated clock), ``ledger`` (fills, charges, round
trips, daily equity), ``config`` (a run's settings and the ``--config`` file), ``sources``
(the tick store and the instrument master), ``sweep`` (parameter grids on a process pool
or Dask), ``cli`` (``quant backtest``), ``report`` and ``charts``. The report takes plain
inputs (daily equity, round-trip trades, candles), so it does not depend on the replay.
"""
