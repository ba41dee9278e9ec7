"""What the operator does to the execution Deployment (pure: no kopf, no I/O).

Execution is the cluster's single order path, so it runs as exactly one pod (the chart:
``replicas: 1``, ``strategy: Recreate``) and is not scaled per phase like the data
services: it stays up outside the session so positions, trades, P&L and the kill switch
can be read and used at any time, and so square-off and reconciliation are never cut off
by a phase boundary. The operator only

* holds it at one replica while the day is active (Authenticating .. Closing: a pod
  scaled to 0 by hand comes back, so MIS square-off still happens) and brings any count
  above one back to one at every reconcile, whatever the phase;
* sets the day's ``spec.mode`` and ``spec.riskLimits``, and the algo names and limits of
  ``spec.strategies`` (``QUANT_ALGO_NAMES``, ``QUANT_RISK__STRATEGIES``, JSON; a day that
  sets none leaves the chart's), on its container as environment variables (the names
  of ``quant.execution.settings``), only while the day is active, so a TradingDay
  created in advance cannot change today's limits. A limit the day leaves out is removed
  from the container and the chart's value (the ``<release>-execution`` ConfigMap, read
  with ``envFrom``) applies again; explicit ``env`` wins over ``envFrom``.
  A changed pod template restarts execution (Recreate), which recovers before it accepts
  an intent.

``quant_operator.reconciler`` calls :func:`wanted_replicas` and :func:`env_patch` with the
observed Deployment and sends the results as patches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from quant_operator.phases import ACTIVE, Phase
from quant_operator.spec import EXECUTION, DaySpec

#: The execution service never runs more than this many pods.
MAX_REPLICAS = 1
#: Name of the container in the chart's execution Deployment.
CONTAINER = EXECUTION

MODE = "QUANT_MODE"
MAX_ORDER_VALUE = "QUANT_RISK__MAX_ORDER_VALUE"
MAX_POSITION_VALUE = "QUANT_RISK__MAX_POSITION_VALUE"
MAX_DAILY_LOSS = "QUANT_RISK__MAX_DAILY_LOSS"
MAX_POSITION_QUANTITY = "QUANT_RISK__MAX_POSITION_QUANTITY"
MAX_OPEN_ORDERS = "QUANT_RISK__MAX_OPEN_ORDERS"
ORDERS_PER_SECOND = "QUANT_RATE__ORDERS_PER_SECOND"
RATE_MODE = "QUANT_RATE__MODE"
SQUARE_OFF_AT = "QUANT_SQUARE_OFF_AT"
#: strategy id -> X-Algo-Name, JSON (from ``spec.strategies[].algoName``)
ALGO_NAMES = "QUANT_ALGO_NAMES"
#: strategy id -> its limits, JSON (from ``spec.strategies[].limits``)
RISK_STRATEGIES = "QUANT_RISK__STRATEGIES"
#: Every variable the operator owns on the execution container (nothing else is touched).
OWNED: tuple[str, ...] = (
    MODE,
    MAX_ORDER_VALUE,
    MAX_POSITION_VALUE,
    MAX_DAILY_LOSS,
    MAX_POSITION_QUANTITY,
    MAX_OPEN_ORDERS,
    ORDERS_PER_SECOND,
    RATE_MODE,
    SQUARE_OFF_AT,
    ALGO_NAMES,
    RISK_STRATEGIES,
)
_CENTS = Decimal("0.01")


def is_execution(deployment: Mapping[str, Any], label: str) -> bool:
    labels = (deployment.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(label) == EXECUTION)


def wanted_replicas(phase: Phase, current: int) -> int | None:
    """The replica count to set, or ``None`` to leave it: 1 while active, never above 1."""
    if current > MAX_REPLICAS:
        return MAX_REPLICAS
    if phase in ACTIVE and current < MAX_REPLICAS:
        return MAX_REPLICAS
    return None


def applies(phase: Phase, hold: bool) -> bool:
    """Whether the day's mode and limits go to execution in this decision."""
    return phase in ACTIVE and not hold


def _rupees(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(_CENTS))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def algo_names(spec: DaySpec) -> str | None:
    """``QUANT_ALGO_NAMES`` of the day's strategies; ``None`` when none names one."""
    names = {s.id: s.algo_name for s in spec.strategies if s.algo_name}
    return json.dumps(names, sort_keys=True, separators=(",", ":")) if names else None


def strategy_limits(spec: DaySpec) -> str | None:
    """``QUANT_RISK__STRATEGIES`` of the day's strategies; ``None`` when none sets a limit."""
    out: dict[str, dict[str, int | str]] = {}
    for s in spec.strategies:
        limits = s.limits
        entry: dict[str, int | str] = {}
        if limits.max_position_quantity is not None:
            entry["max_position_quantity"] = limits.max_position_quantity
        if limits.max_exposure is not None:
            entry["max_exposure"] = str(limits.max_exposure.quantize(_CENTS))
        if limits.max_daily_loss is not None:
            entry["max_daily_loss"] = str(limits.max_daily_loss.quantize(_CENTS))
        if entry:
            out[s.id] = entry
    return json.dumps(out, sort_keys=True, separators=(",", ":")) if out else None


def day_env(spec: DaySpec) -> dict[str, str | None]:
    """The owned variables for ``spec``; ``None`` = not set by the day (chart value)."""
    limits = spec.risk_limits.effective()
    square_off = limits.square_off_at
    return {
        MODE: spec.mode,
        MAX_ORDER_VALUE: _rupees(limits.max_order_value),
        MAX_POSITION_VALUE: _rupees(limits.max_position_value),
        MAX_DAILY_LOSS: _rupees(limits.max_daily_loss),
        MAX_POSITION_QUANTITY: _text(limits.max_position_quantity),
        MAX_OPEN_ORDERS: _text(limits.max_open_orders),
        ORDERS_PER_SECOND: _text(limits.orders_per_second),
        RATE_MODE: limits.rate_mode,
        SQUARE_OFF_AT: None if square_off is None else square_off.strftime("%H:%M"),
        ALGO_NAMES: algo_names(spec),
        RISK_STRATEGIES: strategy_limits(spec),
    }


def _container(deployment: Mapping[str, Any]) -> Mapping[str, Any] | None:
    pod = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers: list[Mapping[str, Any]] = list(pod.get("containers") or ())
    named = [c for c in containers if c.get("name") == CONTAINER]
    if named:
        return named[0]
    return containers[0] if len(containers) == 1 else None


def env_patch(deployment: Mapping[str, Any], spec: DaySpec) -> dict[str, Any] | None:
    """Strategic merge patch putting the day's settings on the container, or ``None``.

    ``None`` when the container already carries them (so a reconcile never restarts
    execution for nothing) or when there is no container to patch. Entries the day no
    longer sets are deleted (``$patch: delete``); the container's other variables stay.
    """
    container = _container(deployment)
    if container is None:
        return None
    current = {
        e["name"]: e.get("value")
        for e in container.get("env") or ()
        if e.get("name") in OWNED and "valueFrom" not in e
    }
    items: list[dict[str, Any]] = []
    for name, value in day_env(spec).items():
        if value is None and name in current:
            items.append({"name": name, "$patch": "delete"})
        elif value is not None and current.get(name) != value:
            items.append({"name": name, "value": value})
    if not items:
        return None
    return {
        "spec": {"template": {"spec": {"containers": [{"name": container["name"], "env": items}]}}}
    }


def describe(spec: DaySpec) -> str:
    """One line for the Event on the TradingDay: what execution now runs with."""
    env = day_env(spec)
    parts = [f"{name}={value}" for name, value in env.items() if value is not None]
    return ", ".join(parts)
