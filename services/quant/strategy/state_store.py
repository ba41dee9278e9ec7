"""``JsonFileStateStore``: the strategies' persistent state as one JSON file per strategy.

The runtime's adapter of the host's ``StateStore`` port: ``<dir>/<strategy id>.json``
(the id is a safe file name: letters, digits, ``_ . -``), written to a temporary file and
renamed, so a crash leaves the previous state or the new one, never half of it. A file
that is not a JSON object is reported (``StateError`` naming the file) rather than
silently replaced.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from quant.trading.strategy import JsonValue, State, StateError


class JsonFileStateStore:
    """``StateStore`` over JSON files in ``directory`` (made when first saved to)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, strategy_id: str) -> Path:
        return self.directory / f"{strategy_id}.json"

    def load(self, strategy_id: str) -> State | None:
        path = self.path(strategy_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StateError(f"cannot read the state of {strategy_id} from {path}: {e}") from e
        try:
            state = json.loads(text)
        except json.JSONDecodeError as e:
            raise StateError(f"the state file {path} is not JSON: {e}") from e
        if not isinstance(state, dict):
            raise StateError(f"the state file {path} holds a {type(state).__name__}, not an object")
        return state

    def save(self, strategy_id: str, state: Mapping[str, JsonValue]) -> None:
        path = self.path(strategy_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(state, f, sort_keys=True, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
