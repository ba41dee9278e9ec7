"""The chart's copy of the TradingDay CRD is byte-identical to ``crds/tradingday.yaml``.

``crds/tradingday.yaml`` is the one source; copy it with
``cp crds/tradingday.yaml charts/quant-platform/crds/`` after editing it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from k8s_tools import CHART_DIR, CRD_FILE


def test_chart_crd_copy_matches_the_source() -> None:
    copy = CHART_DIR / "crds" / "tradingday.yaml"
    assert copy.read_bytes() == CRD_FILE.read_bytes(), (
        "charts/quant-platform/crds/tradingday.yaml drifted from crds/tradingday.yaml; "
        "run: cp crds/tradingday.yaml charts/quant-platform/crds/"
    )


def test_chart_carries_only_the_tradingday_crd() -> None:
    files = sorted(p.name for p in Path(CHART_DIR / "crds").iterdir())
    assert files == ["tradingday.yaml"]


def test_crd_declares_the_documented_api() -> None:
    crd = yaml.safe_load(CRD_FILE.read_text())
    assert crd["metadata"]["name"] == "tradingdays.trading.quant-platform.io"
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["kind"] == "TradingDay"
    assert crd["spec"]["names"]["shortNames"] == ["td"]
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert {"Date", "Phase", "Mode", "Age"} <= set(columns)
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert status["phase"]["enum"] == [
        "Pending",
        "Holiday",
        "Authenticating",
        "SyncingInstruments",
        "PreOpen",
        "Trading",
        "Closing",
        "Closed",
        "Failed",
    ]
    header = CRD_FILE.read_text().split("apiVersion:", 1)[0]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    for field in spec:
        assert f"{field}:" in header, f"spec.{field} missing from the comment block"
