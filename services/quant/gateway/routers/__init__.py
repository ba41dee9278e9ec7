"""One FastAPI router per resource: market data, instruments, health/metrics."""
