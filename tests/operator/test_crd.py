"""The TradingDay CRD on a real apiserver: valid days are accepted with defaults, invalid
ones are rejected with a message naming the field, the status subresource and the
printer columns work, and ``spec.date`` cannot change."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from k8s_control_plane import ControlPlane
from k8s_tools import REPO

pytestmark = pytest.mark.operator

VALID: dict[str, Any] = {
    "apiVersion": "trading.quant-platform.io/v1alpha1",
    "kind": "TradingDay",
    "metadata": {"name": "day"},
    "spec": {
        "date": "2026-11-25",
        "universe": {
            "symbols": ["RELIANCE", "M&M", "BAJAJ-AUTO"],
            "instrumentKeys": ["NSE_EQ|INE002A01018", "NSE_INDEX|Nifty 50"],
            "lists": [{"name": "banks", "symbols": ["HDFCBANK", "SBIN"]}],
        },
        "tokenSecretRef": {"name": "upstox-token"},
        "riskLimits": {
            "maxOrderValue": "50000.50",
            "maxPositionValue": "200000",
            "maxDailyLoss": "5000",
            "maxPositionQuantity": 500,
            "maxOpenOrders": 20,
            "ordersPerSecond": 10,
            "rateMode": "queue",
            "squareOffAt": "15:15",
        },
    },
}


STRATEGY: dict[str, Any] = {
    "id": "macross",
    "class": "quant.strategy.examples.ma_cross:MaCross",
    "params": {"fast": 5, "slow": 20, "nested": {"any": ["thing", 1]}},
    "algoName": "MAC-1",
    "limits": {"maxPositionQuantity": 100, "maxExposure": "150000", "maxDailyLoss": "2000.50"},
}


def _day(name: str, **spec: Any) -> dict[str, Any]:
    day = copy.deepcopy(VALID)
    day["metadata"]["name"] = name
    for path, value in spec.items():
        node = day["spec"]
        *parents, leaf = path.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return day


def _create(cluster: ControlPlane, ns: str, day: dict[str, Any]) -> tuple[bool, str]:
    done = cluster.kubectl("create", "-n", ns, "-f", "-", input=yaml.safe_dump(day), check=False)
    return done.returncode == 0, done.stderr


def _get(cluster: ControlPlane, ns: str, name: str) -> dict[str, Any]:
    out = cluster.kubectl("get", "-n", ns, "tradingday", name, "-o", "json").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def test_valid_paper_day_is_accepted_with_defaults(
    k8s_cluster: ControlPlane, k8s_namespace: str
) -> None:
    ok, err = _create(k8s_cluster, k8s_namespace, _day("paper"))
    assert ok, err
    spec = _get(k8s_cluster, k8s_namespace, "paper")["spec"]
    assert spec["exchange"] == "NSE"
    assert spec["mode"] == "paper"
    assert spec["killSwitch"] is False
    assert spec["killSwitchAction"] == "halt"
    assert spec["replicas"] == {"ingestor": 1, "features": 1, "scanner": 1, "strategy": 1}
    assert spec["riskLimits"]["maxDailyLoss"] == "5000"
    assert "maxOrdersPerSecond" not in spec["riskLimits"]  # deprecated: no default any more
    assert spec["tokenSecretRef"] == {"name": "upstox-token", "key": "access_token"}
    assert spec["instrumentSync"] == {
        "maxAttempts": 3,
        "backoffLimit": 2,
        "activeDeadlineSeconds": 900,
    }
    assert spec["backfill"] == {
        "enabled": True,
        "startDelayMinutes": 10,
        "maxAttempts": 2,
        "backoffLimit": 1,
        "activeDeadlineSeconds": 3600,
        "waitMinutes": 90,
    }
    assert spec["universe"]["symbols"] == ["RELIANCE", "M&M", "BAJAJ-AUTO"]


def test_live_special_session_with_schedule_is_accepted(
    k8s_cluster: ControlPlane, k8s_namespace: str
) -> None:
    day = _day(
        "muhurat",
        mode="live",
        exchange="BSE",
        schedule={
            "preOpenStart": "18:00",
            "preOpenEnd": "18:08",
            "marketOpen": "18:15",
            "marketClose": "19:15",
            "specialSession": True,
        },
        replicas={"ingestor": 0, "features": 2, "scanner": 0, "strategy": 3},
        killSwitch=True,
        killSwitchAction="flatten",
    )
    ok, err = _create(k8s_cluster, k8s_namespace, day)
    assert ok, err
    spec = _get(k8s_cluster, k8s_namespace, "muhurat")["spec"]
    assert spec["schedule"]["marketOpen"] == "18:15"
    assert spec["schedule"]["prepareMinutes"] == 45
    assert spec["replicas"]["strategy"] == 3


@pytest.mark.parametrize(
    ("case", "spec", "message"),
    [
        ("bad-month", {"date": "2026-13-01"}, "spec.date"),
        ("day-first", {"date": "25-11-2026"}, "spec.date"),
        ("no-date", {"date": None}, "spec.date: Required value"),
        ("neg-replicas", {"replicas__ingestor": -1}, "spec.replicas.ingestor"),
        ("mode-foo", {"mode": "foo"}, 'spec.mode: Unsupported value: "foo"'),
        ("exchange", {"exchange": "NYSE"}, "spec.exchange: Unsupported value"),
        ("ops-zero", {"riskLimits__ordersPerSecond": 0}, "spec.riskLimits.ordersPerSecond"),
        ("ops-51", {"riskLimits__ordersPerSecond": 51}, "spec.riskLimits.ordersPerSecond"),
        ("rate-mode", {"riskLimits__rateMode": "drop"}, "spec.riskLimits.rateMode: Unsupported"),
        ("loss-neg", {"riskLimits__maxDailyLoss": "-1"}, "spec.riskLimits.maxDailyLoss"),
        ("loss-number", {"riskLimits__maxDailyLoss": 5000}, "spec.riskLimits.maxDailyLoss"),
        ("value-paisa", {"riskLimits__maxOrderValue": "1.005"}, "spec.riskLimits.maxOrderValue"),
        ("value-exp", {"riskLimits__maxPositionValue": "2e5"}, "spec.riskLimits.maxPositionValue"),
        ("qty-neg", {"riskLimits__maxPositionQuantity": -1}, "spec.riskLimits.maxPositionQuantity"),
        ("open-neg", {"riskLimits__maxOpenOrders": -1}, "spec.riskLimits.maxOpenOrders"),
        ("sq-off-time", {"riskLimits__squareOffAt": "3:15"}, "spec.riskLimits.squareOffAt"),
        ("sq-off-late", {"riskLimits__squareOffAt": "15:30"}, "before the normal close, 15:30"),
        ("risk-extra", {"riskLimits__maxLeverage": 5}, "maxLeverage"),
        ("old-ops-zero", {"riskLimits__maxOrdersPerSecond": 0}, "between 1 and 10"),
        ("old-ops-eleven", {"riskLimits__maxOrdersPerSecond": 11}, "between 1 and 10"),
        ("old-loss-zero", {"riskLimits__maxDailyLossPaise": 0}, "riskLimits.maxDailyLossPaise"),
        (
            "old-and-new",
            {"riskLimits__maxDailyLossPaise": 500_000},
            "maxDailyLossPaise is deprecated: set only riskLimits.maxDailyLoss",
        ),
        ("bad-time", {"schedule": {"marketOpen": "9:15"}}, "spec.schedule.marketOpen"),
        (
            "open-after-close",
            {"schedule": {"marketOpen": "15:30", "marketClose": "09:15"}},
            "marketOpen must be before schedule.marketClose",
        ),
        (
            "special-and-holiday",
            {"schedule": {"specialSession": True, "holiday": True}},
            "cannot both be true",
        ),
        ("live-no-token", {"mode": "live", "tokenSecretRef": None}, "requires spec.tokenSecretRef"),
        ("bad-key", {"universe": {"instrumentKeys": ["RELIANCE"]}}, "spec.universe.instrumentKeys"),
        ("unknown-field", {"tradeEverything": True}, "tradeEverything"),
        (
            "strat-mode",
            {"strategies": [{**STRATEGY, "mode": "backtest"}]},
            'spec.strategies[0].mode: Unsupported value: "backtest"',
        ),
        (
            "strat-live-on-paper",
            {"strategies": [{**STRATEGY, "mode": "live"}]},
            "spec.strategies[].mode must be the day's spec.mode",
        ),
        (
            "strat-dup",
            {"strategies": [STRATEGY, {**STRATEGY, "params": {}}]},
            'spec.strategies[1]: Duplicate value: {"id":"macross"}',
        ),
        (
            "strat-file",
            {"strategies": [{**STRATEGY, "class": "strategies/orb.py:Orb"}]},
            "spec.strategies[0].class",
        ),
        (
            "strat-py-module",
            {"strategies": [{**STRATEGY, "class": "orb.py:Orb"}]},
            "not a file path",
        ),
        ("strat-id", {"strategies": [{**STRATEGY, "id": "-x"}]}, "spec.strategies[0].id"),
        ("strat-no-class", {"strategies": [{"id": "x"}]}, "spec.strategies[0].class: Required"),
        (
            "strat-exposure",
            {"strategies": [{**STRATEGY, "limits": {"maxExposure": "1.234"}}]},
            "spec.strategies[0].limits.maxExposure",
        ),
        (
            "strat-qty",
            {"strategies": [{**STRATEGY, "limits": {"maxPositionQuantity": -1}}]},
            "spec.strategies[0].limits.maxPositionQuantity",
        ),
        (
            "strat-algo",
            {"strategies": [{**STRATEGY, "algoName": ""}]},
            "spec.strategies[0].algoName",
        ),
        (
            "strat-many",
            {"strategies": [{**STRATEGY, "id": f"s{i}"} for i in range(33)]},
            "spec.strategies: Too many",
        ),
    ],
)
def test_invalid_day_is_rejected_with_a_clear_message(
    k8s_cluster: ControlPlane, k8s_namespace: str, case: str, spec: dict[str, Any], message: str
) -> None:
    ok, err = _create(k8s_cluster, k8s_namespace, _day(case, **spec))
    assert not ok, f"{case} was accepted"
    assert message in err, err


def test_strategies_are_accepted_with_their_free_form_params(
    k8s_cluster: ControlPlane, k8s_namespace: str
) -> None:
    live = {**STRATEGY, "id": "orb", "mode": "live"}
    ok, err = _create(
        k8s_cluster, k8s_namespace, _day("strategies", mode="live", strategies=[STRATEGY, live])
    )
    assert ok, err
    spec = _get(k8s_cluster, k8s_namespace, "strategies")["spec"]
    assert spec["strategies"] == [STRATEGY, live]  # params kept as given, nested ones too


def test_date_is_immutable(k8s_cluster: ControlPlane, k8s_namespace: str) -> None:
    ok, err = _create(k8s_cluster, k8s_namespace, _day("fixed"))
    assert ok, err
    done = k8s_cluster.kubectl(
        "patch", "-n", k8s_namespace, "tradingday", "fixed", "--type=merge",
        "-p", '{"spec": {"date": "2026-11-26"}}', check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "spec.date is immutable" in done.stderr
    k8s_cluster.kubectl(
        "patch", "-n", k8s_namespace, "tradingday", "fixed", "--type=merge",
        "-p", '{"spec": {"killSwitch": true}}',
    )  # fmt: skip
    assert _get(k8s_cluster, k8s_namespace, "fixed")["spec"]["killSwitch"] is True


def test_status_subresource_and_printer_columns(
    k8s_cluster: ControlPlane, k8s_namespace: str
) -> None:
    ok, err = _create(k8s_cluster, k8s_namespace, _day("status"))
    assert ok, err
    status = {
        "status": {
            "phase": "SyncingInstruments",
            "observedGeneration": 1,
            "tokenExpiry": "2026-11-25T22:00:00Z",
            "conditions": [
                {
                    "type": "TokenValid",
                    "status": "True",
                    "reason": "Fresh",
                    "message": "token valid until 03:30 IST",
                    "lastTransitionTime": "2026-11-25T02:00:00Z",
                }
            ],
            "instrumentSync": {
                "jobName": "status-sync-20261125-1",
                "succeeded": True,
                "counts": {"NSE_EQ": 2400, "total": 22000},
                "completedAt": "2026-11-25T02:30:00Z",
            },
            "kopf": {"progress": {"anything": {"goes": 1}}},
        }
    }
    k8s_cluster.kubectl(
        "patch", "-n", k8s_namespace, "tradingday", "status", "--subresource=status",
        "--type=merge", "-p", json.dumps(status),
    )  # fmt: skip
    got = _get(k8s_cluster, k8s_namespace, "status")
    assert got["status"]["instrumentSync"]["counts"] == {"NSE_EQ": 2400, "total": 22000}
    assert got["status"]["kopf"] == {"progress": {"anything": {"goes": 1}}}
    table = k8s_cluster.kubectl("get", "-n", k8s_namespace, "td", "status").stdout
    header, row = table.splitlines()
    assert header.split() == ["NAME", "DATE", "PHASE", "MODE", "AGE"]
    assert row.split()[:4] == ["status", "2026-11-25", "SyncingInstruments", "paper"]
    # A spec write through the main endpoint cannot touch status, and bad phases are refused.
    bad = k8s_cluster.kubectl(
        "patch", "-n", k8s_namespace, "tradingday", "status", "--subresource=status",
        "--type=merge", "-p", '{"status": {"phase": "Dancing"}}', check=False,
    )  # fmt: skip
    assert bad.returncode != 0
    assert 'status.phase: Unsupported value: "Dancing"' in bad.stderr


def test_deprecated_paise_limits_are_still_accepted_alone(
    k8s_cluster: ControlPlane, k8s_namespace: str
) -> None:
    old = {"maxDailyLossPaise": 500_000, "maxPositionValuePaise": 20_000_000}
    ok, err = _create(
        k8s_cluster, k8s_namespace, _day("old", riskLimits={**old, "maxOrdersPerSecond": 5})
    )
    assert ok, err
    limits = _get(k8s_cluster, k8s_namespace, "old")["spec"]["riskLimits"]
    assert limits == {**old, "maxOrdersPerSecond": 5}


def test_sample_tradingday_of_the_kind_script_is_accepted(
    k8s_cluster: ControlPlane, k8s_namespace: str
) -> None:
    sample = yaml.safe_load((REPO / "deploy" / "kind" / "sample-tradingday.yaml").read_text())
    ok, err = _create(k8s_cluster, k8s_namespace, sample)
    assert ok, err
