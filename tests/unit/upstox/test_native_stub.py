"""``native/quant_wire/quant_wire.pyi`` names every function of the built extension with
its parameters (names, order, which have defaults), so mypy checks the callers against
the real API. Needs the extension (required under ``CI=true``)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from conftest import require
from quant import native

STUB = Path(__file__).parents[3] / "native" / "quant_wire" / "quant_wire.pyi"


def _stub_signatures() -> dict[str, list[tuple[str, bool]]]:
    tree = ast.parse(STUB.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            args = node.args.args
            first_default = len(args) - len(node.args.defaults)
            out[node.name] = [(a.arg, i >= first_default) for i, a in enumerate(args)]
    return out


def test_the_stub_matches_the_extension() -> None:
    require(native.info().implementation == "native", "quant_wire is not installed")
    module = importlib.import_module("quant_wire")
    built = {
        name: [
            (p.name, p.default is not inspect.Parameter.empty)
            for p in inspect.signature(getattr(module, name)).parameters.values()
        ]
        for name in dir(module)
        if not name.startswith("_") and callable(getattr(module, name))
    }
    assert _stub_signatures() == built
