"""The one exception type of ``quant.devinfra``: a server could not be fetched or started."""

from __future__ import annotations


class InfraError(RuntimeError):
    """A local development server could not be fetched, started, or reached."""
