"""Placeholder until exec-engine is merged."""
