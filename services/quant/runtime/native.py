"""Say which implementation of the wire codecs this process runs, in the log and as the
``quant_native_info`` metric (``implementation="native"|"python"``, ``version``).

Called by :func:`quant.runtime.supervisor.run_services` at start-up. A pod without the
native extension runs the pure-Python decoder, about five times slower: the metric lets
a dashboard or an alert see that without reading logs.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Gauge

from quant.native import NativeInfo, info

log = logging.getLogger(__name__)


def report_native(registry: CollectorRegistry) -> NativeInfo:
    """Log the implementation in use and export ``quant_native_info`` in ``registry``."""
    current = info()
    if current.implementation == "native":
        log.info("native extension quant_wire %s in use", current.version)
    else:
        log.warning(
            "native extension quant_wire not available (%s): using the pure-Python codecs",
            current.error,
        )
    gauge = Gauge(
        "quant_native_info",
        "The wire codecs' implementation in use (1 for the current one)",
        ["implementation", "version"],
        registry=registry,
    )
    gauge.labels(current.implementation, current.version).set(1)
    return current
