"""The one place that loads the native extension ``quant_wire`` (``native/quant_wire``).

The Rust/PyO3 extension decodes Upstox feed frames and bus ``Tick`` messages, encodes
bus messages and enriched columns, and transposes ticks for the QuestDB store. The
adapters that use it (``quant.upstox.wire``, the codecs, ``quant.store.questdb_ticks``)
ask :func:`function` for what they need and fall back to their Python path when it is
absent. It is imported once per process; :func:`info` says which implementation is in
use, and :mod:`quant.runtime.native` logs it and exports it as ``quant_native_info``.
This package imports nothing of ours, so every layer may use it.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from types import ModuleType
from typing import Any, NamedTuple


class NativeInfo(NamedTuple):
    """``implementation`` is ``"native"`` or ``"python"``; ``version`` "" when python."""

    implementation: str
    version: str
    error: str  # why the extension could not be imported, "" when it was


def _load() -> tuple[ModuleType | None, NativeInfo]:
    try:
        module = importlib.import_module("quant_wire")
    except ImportError as e:
        return None, NativeInfo("python", "", str(e))
    try:
        version = metadata.version("quant_wire")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return module, NativeInfo("native", version, "")


_MODULE, _INFO = _load()


def info() -> NativeInfo:
    """Which implementation this process uses (decided once, at first import)."""
    return _INFO


def function(name: str) -> Any:
    """The extension's function ``name``, or ``None`` without the extension (or the
    function, in an older build): the caller then uses its Python path."""
    if _MODULE is None:
        return None
    return getattr(_MODULE, name, None)
