"""Load a strategy class from a spec: ``package.module:ClassName`` or ``path/to/file.py:ClassName``.

A spec whose part before the last ``:`` ends in ``.py`` or contains a path separator is a
file: it is imported under a module name of its own (``quant_user_strategy_<stem>_<hash>``,
registered in ``sys.modules`` so pickling and pydantic work), relative paths resolved
against ``base_dir`` (the current directory by default). Otherwise it is an importable
module path. Every way this can go wrong raises ``StrategyLoadError`` with what to fix: a
malformed spec, a missing file or module, an error while importing it (with the
exception), a missing class (naming the strategy classes the module does have), a class
that is not a ``quant.trading.strategy.Strategy``. ``load_strategy`` also validates the
parameters against the class's ``Params`` model (``InvalidParams`` with pydantic's
message). Called by the CLI commands that run strategies and by tests.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from pydantic import BaseModel

from quant.trading.strategy import Strategy, StrategyError, StrategyParams, validate_params

FILE_MODULE_PREFIX = "quant_user_strategy"


class StrategyLoadError(StrategyError):
    """A strategy spec cannot be loaded; the message says why and what to fix."""


class LoadedStrategy(NamedTuple):
    """A strategy class and its validated parameters."""

    cls: type[Strategy[Any]]
    params: StrategyParams


def split_spec(spec: str) -> tuple[str, str]:
    """(module path or file, class name) of ``spec``."""
    where, sep, name = spec.strip().rpartition(":")
    if not sep or not where or not name:
        raise StrategyLoadError(
            f"strategy spec {spec!r} must be 'package.module:ClassName' or "
            "'path/to/file.py:ClassName'"
        )
    if not name.isidentifier():
        raise StrategyLoadError(f"strategy spec {spec!r}: {name!r} is not a class name")
    return where, name


def _is_file(where: str) -> bool:
    return where.endswith(".py") or "/" in where or "\\" in where


def _import_file(where: str, base_dir: Path | None) -> ModuleType:
    path = Path(where).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    path = path.resolve()
    if not path.is_file():
        raise StrategyLoadError(f"strategy file {path} does not exist")
    digest = hashlib.blake2b(str(path).encode(), digest_size=4).hexdigest()
    name = f"{FILE_MODULE_PREFIX}_{path.stem}_{digest}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise StrategyLoadError(f"strategy file {path} cannot be imported as Python")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        raise StrategyLoadError(
            f"importing strategy file {path} failed: {type(e).__name__}: {e}"
        ) from e
    return module


def _import_module(where: str) -> ModuleType:
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as e:
        if e.name is not None and (where == e.name or where.startswith(e.name + ".")):
            raise StrategyLoadError(
                f"no module named {where!r} (is it on PYTHONPATH? for a file, give its path "
                "ending in .py)"
            ) from e
        raise StrategyLoadError(
            f"importing strategy module {where!r} failed: {type(e).__name__}: {e}"
        ) from e
    except Exception as e:
        raise StrategyLoadError(
            f"importing strategy module {where!r} failed: {type(e).__name__}: {e}"
        ) from e


def _strategies_in(module: ModuleType) -> list[str]:
    return sorted(
        n
        for n, v in vars(module).items()
        if inspect.isclass(v) and issubclass(v, Strategy) and v is not Strategy
    )


def load_strategy_class(spec: str, *, base_dir: Path | None = None) -> type[Strategy[Any]]:
    """The ``Strategy`` subclass named by ``spec``; see the module docstring."""
    where, name = split_spec(spec)
    module = _import_file(where, base_dir) if _is_file(where) else _import_module(where)
    obj = getattr(module, name, None)
    if obj is None:
        found = _strategies_in(module)
        hint = f"; strategies there: {', '.join(found)}" if found else "; it defines no Strategy"
        raise StrategyLoadError(f"{where} has no class {name!r}{hint}")
    if not (inspect.isclass(obj) and issubclass(obj, Strategy)):
        raise StrategyLoadError(
            f"{where}:{name} is not a subclass of quant.trading.strategy.Strategy (it is {obj!r})"
        )
    if inspect.isabstract(obj):
        raise StrategyLoadError(f"{where}:{name} is abstract; name a concrete strategy class")
    return obj


def load_strategy(
    spec: str,
    params: Mapping[str, object] | BaseModel | None = None,
    *,
    base_dir: Path | None = None,
) -> LoadedStrategy:
    """The class named by ``spec`` and ``params`` validated against its ``Params``."""
    cls = load_strategy_class(spec, base_dir=base_dir)
    return LoadedStrategy(cls, validate_params(cls, params))
