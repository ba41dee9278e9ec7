"""Process-wide logging: stdlib loggers, plain text locally and JSON in the cluster.

Called once per process by :func:`quant.runtime.supervisor.run_services` (and by the
tools that run no service: ``quant auth``, ``quant sync-instruments``, the operator).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload)


def setup_logging(level: str = "INFO", *, json_format: bool = False) -> None:
    """Configure the root logger once, from a service's ``main()``."""
    handler = logging.StreamHandler(sys.stderr)
    if json_format:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # the connection pools log every failed reconnect (several a second while PostgreSQL
    # or QuestDB is down); the dependency probes say an outage once, and its end
    # (quant.runtime.status), so only the pools' errors are kept, unless debugging
    if level.upper() != "DEBUG":
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
