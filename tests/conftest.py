"""Shared test helpers.

``require(ok, why)``: a test that needs a server or tool calls it. Locally it skips when
the thing is missing; under ``CI=true`` it fails, because CI must never pass by skipping.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(ok: bool, why: str) -> None:
    """Skip locally, fail in CI, when a needed server or tool is unavailable."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {why}", pytrace=False)
    pytest.skip(why)
