"""The TradingDay defaults start only services that exist, and the CRD agrees with spec.py.

The scanner and strategy services are not built yet (their chart Deployments are
placeholders whose pods would crash-loop), so a TradingDay that leaves ``spec.replicas``
out runs the ingestor and the feature engine only.
"""

from __future__ import annotations

from typing import Any

import yaml

from k8s_tools import CRD_FILE
from quant_operator.spec import SCALED_COMPONENTS, Replicas, parse_spec


def _crd_replica_defaults() -> dict[str, Any]:
    crd = yaml.safe_load(CRD_FILE.read_text())
    (version,) = crd["spec"]["versions"]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    props = spec["replicas"]["properties"]
    return {name: props[name].get("default") for name in props}


def test_a_day_without_replicas_starts_no_unbuilt_service() -> None:
    spec = parse_spec({"date": "2026-11-25"})
    assert dict(spec.replicas.as_mapping()) == {
        "ingestor": 1,
        "features": 1,
        "scanner": 0,
        "strategy": 0,
    }


def test_the_crd_defaults_match_the_operator_defaults() -> None:
    defaults = _crd_replica_defaults()
    assert set(defaults) == set(SCALED_COMPONENTS)
    assert defaults == dict(Replicas().as_mapping())


def test_explicit_replicas_still_scale_the_placeholders() -> None:
    spec = parse_spec({"date": "2026-11-25", "replicas": {"scanner": 2, "strategy": 1}})
    assert spec.replicas.scanner == 2 and spec.replicas.strategy == 1
    assert spec.replicas.ingestor == 1
