"""The ingestor service (``quant ingestor``): Upstox feed -> ``market.*`` bus topics."""
