"""Which strategies ``quant strategy run`` runs: the command line and the config YAML.

Two ways to say it:

- ``quant strategy run SPEC [SPEC ...] [--config params.yaml]``: each ``SPEC`` (a module
  path or a file, ``quant.strategy.loader``) is one strategy, its id the class name in
  lower case (or ``--id`` for a single one); ``params.yaml`` holds the parameters of a
  single ``SPEC`` (a mapping of parameter name to value);
- ``quant strategy run --config strategies.yaml`` where the file has a ``strategies``
  list, each entry with ``id``, ``class`` (a spec), ``params``, ``algo_name`` and
  ``mode`` (``paper`` or ``live``); SPECs given as well are added to it.

Everything is checked before anything starts (:func:`load_strategies`): the YAML, the
entries (unknown keys, duplicate ids, ids whose client order id prefixes clash), the
classes (:func:`quant.strategy.loader.load_strategy`) and the parameters against each
class's model; the first problem raises ``StrategyConfigError`` (or ``InvalidParams``,
pydantic's message) naming the strategy and what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from quant.strategy.loader import load_strategy, split_spec
from quant.trading.client_ids import ensure_distinct_prefixes
from quant.trading.errors import InvalidIntent
from quant.trading.strategy import InvalidParams, Strategy, StrategyError, StrategyParams

Mode = Literal["paper", "live"]
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class StrategyConfigError(StrategyError):
    """The strategies' configuration is wrong; the message says where and what to fix."""


class StrategyEntry(BaseModel):
    """One strategy to run: id, class spec, parameters, algo name, mode."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=_ID_PATTERN)
    spec: str = Field(alias="class", min_length=3)
    params: dict[str, Any] = Field(default_factory=dict)
    # the X-Algo-Name its orders go with: the execution service maps strategy -> algo name
    # (QUANT_ALGO_NAMES) and must say the same
    algo_name: str = ""
    # the execution service its orders go to must run in this mode (checked on its events)
    mode: Mode = "paper"


class StrategiesFile(BaseModel):
    """A config file that lists strategies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategies: list[StrategyEntry] = Field(default_factory=list)


class ConfiguredStrategy(NamedTuple):
    """A strategy entry with its class loaded and its parameters validated."""

    entry: StrategyEntry
    cls: type[Strategy[Any]]
    params: StrategyParams


def default_id(spec: str) -> str:
    """The id of a strategy given only by its spec: the class name in lower case."""
    return split_spec(spec)[1].lower()


def read_yaml(path: Path) -> object:
    """The YAML document of ``path``; ``StrategyConfigError`` if unreadable or malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise StrategyConfigError(f"cannot read the config {path}: {e.strerror or e}") from e
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise StrategyConfigError(f"the config {path} is not valid YAML: {e}") from e


def _describe(e: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'the file'}: {err['msg']}" for err in e.errors()
    )


def strategy_entries(
    specs: Sequence[str],
    config: Path | None = None,
    *,
    strategy_id: str | None = None,
    algo_name: str | None = None,
    mode: Mode | None = None,
) -> list[StrategyEntry]:
    """The entries the command line and ``config`` name; see the module docstring."""
    document = read_yaml(config) if config is not None else None
    listed = isinstance(document, Mapping) and "strategies" in document
    entries: list[StrategyEntry] = []
    if listed:
        try:
            entries.extend(StrategiesFile.model_validate(document).strategies)
        except ValidationError as e:
            raise StrategyConfigError(f"{config}: {_describe(e)}") from e
    elif document is not None and not isinstance(document, Mapping):
        raise StrategyConfigError(
            f"{config} must be a mapping: the parameters of one strategy, or a 'strategies:' list"
        )
    if (strategy_id or algo_name or mode) and len(specs) != 1:
        raise StrategyConfigError("--id, --algo-name and --mode apply to exactly one SPEC")
    params: Mapping[str, Any] = {} if listed or document is None else document  # type: ignore[assignment]
    if params and len(specs) != 1:
        raise StrategyConfigError(
            f"{config} holds the parameters of one strategy: give exactly one SPEC, or list "
            "the strategies under 'strategies:'"
        )
    for spec in specs:
        fields = {
            "id": strategy_id or default_id(spec),
            "class": spec,
            "params": dict(params),
            "algo_name": algo_name or "",
            "mode": mode or "paper",
        }
        try:
            entries.append(StrategyEntry.model_validate(fields))
        except ValidationError as e:
            raise StrategyConfigError(f"strategy {spec}: {_describe(e)}") from e
    if not entries:
        raise StrategyConfigError(
            "no strategy to run: give a SPEC (package.module:Class or path/file.py:Class) "
            "or a --config file with a 'strategies:' list"
        )
    ids = [e.id for e in entries]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise StrategyConfigError(f"strategy ids must be unique; used twice: {twice}")
    try:
        ensure_distinct_prefixes(ids)
    except InvalidIntent as e:
        raise StrategyConfigError(str(e)) from e
    return entries


def load_strategies(
    entries: Sequence[StrategyEntry], *, base_dir: Path | None = None
) -> list[ConfiguredStrategy]:
    """Each entry's class loaded and parameters validated; the first failure raised with the
    strategy id in front (``InvalidParams`` keeps its type)."""
    loaded = []
    for entry in entries:
        try:
            cls, params = load_strategy(entry.spec, entry.params, base_dir=base_dir)
        except InvalidParams as e:
            raise InvalidParams(f"strategy {entry.id}: {e}") from e
        except StrategyError as e:
            raise StrategyConfigError(f"strategy {entry.id}: {e}") from e
        loaded.append(ConfiguredStrategy(entry, cls, params))
    return loaded


def algo_name_mapping(entries: Sequence[StrategyEntry]) -> dict[str, str]:
    """strategy id -> algo name, of the entries that have one (``QUANT_ALGO_NAMES``)."""
    return {e.id: e.algo_name for e in entries if e.algo_name}
