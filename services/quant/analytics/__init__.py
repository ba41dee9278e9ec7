"""Pure feature math: VWAP, order-book imbalance, spread, aggressor side, IV and greeks, candles.

numpy and the standard library only: no I/O, no asyncio, no wall clock.

* :mod:`quant.analytics.black76` - Black-76 prices, greeks and implied vol (scalar and
  vectorised); :mod:`quant.analytics.expiry` - NSE time to expiry (ACT/365 to 15:30 IST).
* :mod:`quant.analytics.features` - microstructure features as numpy functions;
  :mod:`quant.analytics.candles` - IST-aligned OHLC candles.
* :mod:`quant.analytics.engine` - the batched, snapshot-able feature engine.
"""
