"""The feature-engine service (``quant features``): ticks -> enriched ticks, candles, stores."""
