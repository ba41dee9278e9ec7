"""Pure feature math: VWAP, order-book imbalance, spread, aggressor side, IV and greeks, candles."""
