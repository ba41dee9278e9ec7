"""The TradingDay defaults run one pod of each service, and the CRD agrees with spec.py.

A TradingDay that leaves ``spec.replicas`` out runs one ingestor, feature engine, scanner
and strategy runtime (the strategy only when ``spec.strategies`` lists some: the phase
machine's rule). The end-of-day backfill's defaults agree too.
"""

from __future__ import annotations

from typing import Any

import yaml

from k8s_tools import CRD_FILE
from quant_operator.spec import SCALED_COMPONENTS, Backfill, Replicas, parse_spec


def _crd_spec() -> dict[str, Any]:
    crd = yaml.safe_load(CRD_FILE.read_text())
    (version,) = crd["spec"]["versions"]
    props: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    return props


def _defaults(section: str) -> dict[str, Any]:
    props = _crd_spec()[section]["properties"]
    return {name: props[name].get("default") for name in props}


def test_a_day_without_replicas_runs_one_pod_of_each_service() -> None:
    spec = parse_spec({"date": "2026-11-25"})
    assert dict(spec.replicas.as_mapping()) == {
        "ingestor": 1,
        "features": 1,
        "scanner": 1,
        "strategy": 1,
    }


def test_the_crd_defaults_match_the_operator_defaults() -> None:
    defaults = _defaults("replicas")
    assert set(defaults) == set(SCALED_COMPONENTS)
    assert defaults == dict(Replicas().as_mapping())


def test_the_crd_backfill_defaults_match_the_operator_defaults() -> None:
    defaults = {k: v for k, v in _defaults("backfill").items() if k != "image"}
    ours = Backfill().model_dump(by_alias=True, exclude={"image"})
    assert defaults == ours


def test_explicit_replicas_are_kept() -> None:
    spec = parse_spec({"date": "2026-11-25", "replicas": {"scanner": 2, "strategy": 0}})
    assert spec.replicas.scanner == 2 and spec.replicas.strategy == 0
    assert spec.replicas.ingestor == 1
