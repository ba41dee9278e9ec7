"""The TradingDay defaults start only services that exist, and the CRD agrees with spec.py.

The strategy service is not built yet (its chart Deployment is a placeholder whose pods
would crash-loop), so a TradingDay that leaves ``spec.replicas`` out runs the ingestor,
the feature engine and the scanner. The end-of-day backfill's defaults agree too.
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


def test_a_day_without_replicas_runs_the_built_services() -> None:
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


def test_explicit_replicas_still_scale_the_placeholders() -> None:
    spec = parse_spec({"date": "2026-11-25", "replicas": {"scanner": 2, "strategy": 1}})
    assert spec.replicas.scanner == 2 and spec.replicas.strategy == 1
    assert spec.replicas.ingestor == 1
