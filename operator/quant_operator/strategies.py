"""What the operator does for ``spec.strategies`` (pure: no kopf, no I/O).

The chart's strategy Deployment runs ``quant strategy run`` with
``QUANT_STRATEGY_CONFIG`` naming a file of the ConfigMap it mounts as the volume
:data:`VOLUME`. While the day is active (and the strategy is to run) the operator

* writes the day's strategies into that ConfigMap (key :data:`CONFIG_KEY`, the YAML
  ``quant strategy run --config`` reads: a ``strategies:`` list of ``id``, ``class``,
  ``params``, ``algo_name``, ``mode``), owned by the TradingDay. The ConfigMap's name is
  the Deployment's (the volume says it), so the operator's Role needs ``get``/``patch`` on
  that one name only;
* puts the YAML's SHA-256 on the pod template (:data:`ANNOTATION_CONFIG_CHECKSUM`), so
  the strategy pods restart when the strategies change (the runtime reads them at start).

The execution service's side (algo names, per-strategy limits) is in
:mod:`quant_operator.execution`; the replicas (0 without strategies, never above 1) in
:mod:`quant_operator.phases`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import yaml

from quant_operator.builders import LABEL_COMPONENT, LABEL_DAY, DayRef, owner_reference
from quant_operator.spec import DaySpec

#: The component label of the strategy Deployment.
COMPONENT = "strategy"
#: The pod volume (a ConfigMap) the strategies file is read from.
VOLUME = "strategies"
#: The ConfigMap key, so the file is ``<mountPath>/strategies.yaml``.
CONFIG_KEY = "strategies.yaml"
ANNOTATION_CONFIG_CHECKSUM = "quant-platform.io/strategies-checksum"


def is_strategy(deployment: Mapping[str, Any]) -> bool:
    labels = (deployment.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(LABEL_COMPONENT) == COMPONENT)


def config_document(spec: DaySpec) -> dict[str, Any]:
    """The ``strategies:`` document of ``spec`` (a strategy's mode defaults to the day's)."""
    entries: list[dict[str, Any]] = []
    for s in spec.strategies:
        entry: dict[str, Any] = {"id": s.id, "class": s.cls, "params": dict(s.params)}
        if s.algo_name is not None:
            entry["algo_name"] = s.algo_name
        entry["mode"] = s.mode or spec.mode
        entries.append(entry)
    return {"strategies": entries}


def config_yaml(spec: DaySpec) -> str:
    """The strategies file: deterministic for a given spec (so is its checksum)."""
    header = f"# written by the quant-platform operator for the TradingDay of {spec.date}\n"
    return header + yaml.safe_dump(
        config_document(spec), sort_keys=True, default_flow_style=False, allow_unicode=True
    )


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def configmap_name(deployment: Mapping[str, Any]) -> str | None:
    """The ConfigMap the Deployment mounts as :data:`VOLUME`, or ``None``."""
    pod = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    for volume in pod.get("volumes") or ():
        if volume.get("name") == VOLUME:
            name = (volume.get("configMap") or {}).get("name")
            return name if isinstance(name, str) and name else None
    return None


def config_checksum(deployment: Mapping[str, Any]) -> str | None:
    """The strategies checksum on the Deployment's pod template, if any."""
    template = (deployment.get("spec") or {}).get("template") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(ANNOTATION_CONFIG_CHECKSUM)
    return value if isinstance(value, str) else None


def _metadata(day: DayRef, text: str) -> dict[str, Any]:
    return {
        "labels": {
            LABEL_DAY: day.name,
            LABEL_COMPONENT: COMPONENT,
            "app.kubernetes.io/part-of": "quant-platform",
        },
        "annotations": {ANNOTATION_CONFIG_CHECKSUM: checksum(text)},
        "ownerReferences": [owner_reference(day)],
    }


def build_configmap(day: DayRef, name: str, text: str) -> dict[str, Any]:
    """The ConfigMap holding the strategies file, owned by the day."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": day.namespace, **_metadata(day, text)},
        "data": {CONFIG_KEY: text},
    }


def configmap_patch(current: Mapping[str, Any], day: DayRef, text: str) -> dict[str, Any] | None:
    """Merge patch giving ``current`` the day's file and owner, or ``None`` if it has them.

    Only the operator's key, labels and annotation are written; the owner list is replaced
    (the ConfigMap belongs to the day now active).
    """
    meta = current.get("metadata") or {}
    wanted = _metadata(day, text)
    owners = [(o.get("uid"), o.get("kind")) for o in meta.get("ownerReferences") or ()]
    same = (
        (current.get("data") or {}).get(CONFIG_KEY) == text
        and owners == [(day.uid, "TradingDay")]
        and all((meta.get("labels") or {}).get(k) == v for k, v in wanted["labels"].items())
    )
    if same:
        return None
    return {"metadata": wanted, "data": {CONFIG_KEY: text}}


def checksum_patch(value: str) -> dict[str, Any]:
    """Merge patch of the pod template annotation that restarts the strategy pods."""
    return {
        "spec": {"template": {"metadata": {"annotations": {ANNOTATION_CONFIG_CHECKSUM: value}}}}
    }


def describe(spec: DaySpec) -> str:
    """One line for Events and the condition: the strategies and their modes."""
    return ", ".join(
        f"{s.id} ({s.cls}, {s.mode or spec.mode}"
        + (f", algo {s.algo_name}" if s.algo_name else "")
        + ")"
        for s in spec.strategies
    )
