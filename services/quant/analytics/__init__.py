"""Pure feature math: VWAP, imbalance, spread, aggressor, IV and greeks, candles, scanner signals.

numpy and the standard library only: no I/O, no asyncio, no wall clock.

* :mod:`quant.analytics.black76` - Black-76 prices, greeks and implied vol (scalar and
  vectorised); :mod:`quant.analytics.expiry` - NSE time to expiry (ACT/365 to 15:30 IST).
* :mod:`quant.analytics.features` - microstructure features as numpy functions;
  :mod:`quant.analytics.candles` - IST-aligned OHLC candles.
* :mod:`quant.analytics.engine` - the batched, snapshot-able feature engine.
* :mod:`quant.analytics.scanner_signals` - the momentum scanner's signals over the universe;
  :mod:`quant.analytics.scanner_score` - its composite score, top N, reasons, liquidity filter.
"""
