"""The execution Deployment under the operator: one replica at most, the day's mode and limits.

Pure parts (:mod:`quant_operator.execution`, ``spec.riskLimits``) directly; the reconciler
against the in-memory apiserver of ``operator_kit``.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
import yaml
from operator_kit import DEPLOY, NS, TD_PATH, Events, complete_jobs, ist, world

from k8s_tools import CRD_FILE
from quant_operator import builders, execution
from quant_operator.phases import Phase
from quant_operator.reconciler import reconcile
from quant_operator.spec import RiskLimitsSpec, SpecError, parse_spec

__all__ = ["world"]  # the fixture, imported for the reconciler tests below

EXEC_PATH = f"{DEPLOY}/quant-execution"
LIMITS = {
    "maxOrderValue": "50000",
    "maxPositionValue": "200000.5",
    "maxDailyLoss": "5000.00",
    "maxPositionQuantity": 500,
    "maxOpenOrders": 20,
    "ordersPerSecond": 8,
    "rateMode": "reject",
    "squareOffAt": "15:10",
}


def _spec(**fields: Any) -> Any:
    return parse_spec({"date": "2026-11-25", "tokenSecretRef": {"name": "t"}, **fields})


def _execution(replicas: int = 1, env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    chart_env = [
        {"name": "QUANT_POSTGRES__DSN", "value": "postgresql://x"},
        *(env or []),
    ]
    return {
        "metadata": {
            "name": "quant-execution",
            "labels": {builders.LABEL_COMPONENT: "execution"},
            "uid": "uid-exec",
        },
        "spec": {
            "replicas": replicas,
            "strategy": {"type": "Recreate"},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "execution",
                            "envFrom": [{"configMapRef": {"name": "qp-execution"}}],
                            "env": chart_env,
                        }
                    ]
                }
            },
        },
    }


def _env(deployment: dict[str, Any]) -> dict[str, str]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def test_day_env_maps_every_limit_to_the_execution_settings_names() -> None:
    env = execution.day_env(_spec(mode="live", riskLimits=LIMITS))
    assert env == {
        "QUANT_MODE": "live",
        "QUANT_RISK__MAX_ORDER_VALUE": "50000.00",
        "QUANT_RISK__MAX_POSITION_VALUE": "200000.50",
        "QUANT_RISK__MAX_DAILY_LOSS": "5000.00",
        "QUANT_RISK__MAX_POSITION_QUANTITY": "500",
        "QUANT_RISK__MAX_OPEN_ORDERS": "20",
        "QUANT_RATE__ORDERS_PER_SECOND": "8",
        "QUANT_RATE__MODE": "reject",
        "QUANT_SQUARE_OFF_AT": "15:10",
        "QUANT_ALGO_NAMES": None,
        "QUANT_RISK__STRATEGIES": None,
    }
    assert set(env) == set(execution.OWNED)
    unset = execution.day_env(_spec())
    assert unset["QUANT_MODE"] == "paper"
    assert {k for k, v in unset.items() if v is not None} == {"QUANT_MODE"}


def test_deprecated_paise_fields_still_reach_execution_in_rupees() -> None:
    old = {"maxDailyLossPaise": 500_050, "maxPositionValuePaise": 20_000_000}
    env = execution.day_env(_spec(riskLimits={**old, "maxOrdersPerSecond": 5}))
    assert env["QUANT_RISK__MAX_DAILY_LOSS"] == "5000.50"
    assert env["QUANT_RISK__MAX_POSITION_VALUE"] == "200000.00"
    assert env["QUANT_RATE__ORDERS_PER_SECOND"] == "5"


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"maxOrderValue": "-5"}, "maxOrderValue"),
        ({"maxOrderValue": "12.345"}, "maxOrderValue"),
        ({"maxDailyLoss": 5000}, "maxDailyLoss"),
        ({"maxDailyLoss": "5e3"}, "maxDailyLoss"),
        ({"ordersPerSecond": 51}, "ordersPerSecond"),
        ({"ordersPerSecond": 0}, "ordersPerSecond"),
        ({"maxOpenOrders": -1}, "maxOpenOrders"),
        ({"rateMode": "drop"}, "rateMode"),
        ({"squareOffAt": "3:15"}, "squareOffAt"),
        ({"maxDailyLoss": "1", "maxDailyLossPaise": 100}, "deprecated"),
        ({"ordersPerSecond": 5, "maxOrdersPerSecond": 5}, "deprecated"),
    ],
)
def test_bad_risk_limits_are_refused_naming_the_field(limits: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError, match=field):
        _spec(riskLimits=limits)


def test_square_off_must_come_before_the_normal_close() -> None:
    """Execution squares off that long before each session's close: 15:30 is no lead."""
    with pytest.raises(SpecError, match="squareOffAt must be before the normal close, 15:30"):
        _spec(riskLimits={"squareOffAt": "15:30"})
    assert _spec(riskLimits={"squareOffAt": "15:29"}, exchange="BSE")


def test_the_crd_declares_exactly_the_risk_limits_the_operator_reads() -> None:
    crd = yaml.safe_load(CRD_FILE.read_text())
    (version,) = crd["spec"]["versions"]
    props = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    declared = set(props["riskLimits"]["properties"])
    read = {f.alias for f in RiskLimitsSpec.model_fields.values()}
    assert declared == read
    assert "default" not in props["riskLimits"]["properties"]["maxOrdersPerSecond"]


@pytest.mark.parametrize(
    ("phase", "current", "wanted"),
    [
        (Phase.PENDING, 1, None),
        (Phase.PENDING, 0, None),
        (Phase.PENDING, 3, 1),
        (Phase.HOLIDAY, 2, 1),
        (Phase.AUTHENTICATING, 0, 1),
        (Phase.SYNCING, 0, 1),
        (Phase.PRE_OPEN, 1, None),
        (Phase.TRADING, 0, 1),
        (Phase.TRADING, 5, 1),
        (Phase.CLOSING, 0, 1),
        (Phase.CLOSED, 1, None),
        (Phase.CLOSED, 0, None),
        (Phase.CLOSED, 2, 1),
        (Phase.FAILED, 4, 1),
    ],
)
def test_execution_runs_one_replica_while_active_and_never_more(
    phase: Phase, current: int, wanted: int | None
) -> None:
    assert execution.wanted_replicas(phase, current) == wanted


def test_env_patch_sets_changes_and_removes_only_what_the_operator_owns() -> None:
    spec = _spec(mode="live", riskLimits={"maxDailyLoss": "5000", "rateMode": "queue"})
    dep = _execution(
        env=[
            {"name": "QUANT_MODE", "value": "paper"},
            {"name": "QUANT_RATE__MODE", "value": "queue"},
            {"name": "QUANT_RISK__MAX_OPEN_ORDERS", "value": "9"},  # no longer in the day
        ]
    )
    patch = execution.env_patch(dep, spec)
    assert patch == {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "execution",
                            "env": [
                                {"name": "QUANT_MODE", "value": "live"},
                                {"name": "QUANT_RISK__MAX_DAILY_LOSS", "value": "5000.00"},
                                {"name": "QUANT_RISK__MAX_OPEN_ORDERS", "$patch": "delete"},
                            ],
                        }
                    ]
                }
            }
        }
    }
    settled = _execution(
        env=[
            {"name": "QUANT_MODE", "value": "live"},
            {"name": "QUANT_RISK__MAX_DAILY_LOSS", "value": "5000.00"},
            {"name": "QUANT_RATE__MODE", "value": "queue"},
        ]
    )
    assert execution.env_patch(settled, spec) is None  # nothing to change: no restart


async def test_the_reconciler_takes_the_days_mode_and_limits_to_execution(world: Any) -> None:
    kube, clock, _, ports, events = world
    kube.put(DEPLOY, _execution(replicas=3))
    kube.objects[TD_PATH]["spec"].update(mode="live", riskLimits=copy.deepcopy(LIMITS))

    # 07:00, Pending: brought back to one replica, but the day's settings wait.
    await reconcile(ports, NS, "day1", events)
    dep = kube.objects[EXEC_PATH]
    assert dep["spec"]["replicas"] == 1
    assert set(_env(dep)) == {"QUANT_POSTGRES__DSN"}
    assert any(r == "ExecutionScaled" and "had 3 replicas" in m for _, r, m in events.seen)

    # 08:20, the day is active: the settings land on the container, the chart's env stays.
    clock.set_ns(ist(8, 20))
    await reconcile(ports, NS, "day1", events)
    env = _env(kube.objects[EXEC_PATH])
    assert env["QUANT_MODE"] == "live"
    assert env["QUANT_RISK__MAX_DAILY_LOSS"] == "5000.00"
    assert env["QUANT_RATE__ORDERS_PER_SECOND"] == "8"
    assert env["QUANT_SQUARE_OFF_AT"] == "15:10"
    assert env["QUANT_POSTGRES__DSN"] == "postgresql://x"
    conds = {c["type"]: c for c in kube.objects[TD_PATH]["status"]["conditions"]}
    assert conds["ExecutionConfigured"]["status"] == "True"
    assert "QUANT_MODE=live" in conds["ExecutionConfigured"]["message"]

    # Reconciling again changes nothing (no restart of execution for nothing).
    complete_jobs(kube)
    before = len([c for c in kube.calls if c == ("PATCH", EXEC_PATH)])
    await reconcile(ports, NS, "day1", events)
    assert len([c for c in kube.calls if c == ("PATCH", EXEC_PATH)]) == before

    # A trader lowers the loss limit and drops the rate override mid-day.
    clock.set_ns(ist(10, 0))
    limits = kube.objects[TD_PATH]["spec"]["riskLimits"]
    limits["maxDailyLoss"] = "2500"
    del limits["ordersPerSecond"]
    kube.objects[EXEC_PATH]["spec"]["replicas"] = 0  # and someone scaled it to 0
    await reconcile(ports, NS, "day1", events)
    dep = kube.objects[EXEC_PATH]
    assert _env(dep)["QUANT_RISK__MAX_DAILY_LOSS"] == "2500.00"
    assert "QUANT_RATE__ORDERS_PER_SECOND" not in _env(dep)  # the chart's value again
    assert dep["spec"]["replicas"] == 1

    # After the close the data services go to 0; execution stays up, never above 1.
    for hh, mm in [(15, 35), (16, 5)]:
        clock.set_ns(ist(hh, mm))
        out = await reconcile(ports, NS, "day1", events)
        assert out is not None
    assert out.phase is Phase.CLOSED
    assert kube.objects[f"{DEPLOY}/quant-ingestor"]["spec"]["replicas"] == 0
    assert kube.objects[EXEC_PATH]["spec"]["replicas"] == 1
    kube.objects[EXEC_PATH]["spec"]["replicas"] = 2
    await reconcile(ports, NS, "day1", events)
    assert kube.objects[EXEC_PATH]["spec"]["replicas"] == 1


async def test_a_day_created_in_advance_does_not_touch_todays_limits(world: Any) -> None:
    kube, _, _, ports, events = world
    kube.put(DEPLOY, _execution(env=[{"name": "QUANT_MODE", "value": "paper"}]))
    kube.objects[TD_PATH]["spec"].update(mode="live", riskLimits={"maxDailyLoss": "1"})
    out = await reconcile(ports, NS, "day1", events)  # 07:00: Pending
    assert out is not None and out.phase is Phase.PENDING
    assert _env(kube.objects[EXEC_PATH])["QUANT_MODE"] == "paper"
    assert ("PATCH", EXEC_PATH) not in kube.calls


async def test_a_missing_execution_deployment_is_reported_on_the_day(world: Any) -> None:
    kube, clock, _, ports, _ = world
    clock.set_ns(ist(8, 20))
    await reconcile(ports, NS, "day1", Events())
    conds = {c["type"]: c for c in kube.objects[TD_PATH]["status"]["conditions"]}
    cond = conds["ExecutionConfigured"]
    assert (cond["status"], cond["reason"]) == ("False", "NotFound")
    assert "quant-platform.io/component=execution" in cond["message"]


async def test_a_failed_execution_patch_is_reported_and_the_day_goes_on(world: Any) -> None:
    kube, clock, _, ports, events = world
    kube.put(DEPLOY, _execution())
    clock.set_ns(ist(8, 20))
    original = kube.patch

    async def refuse_execution(path: str, body: Any, *, strategic: bool = False) -> Any:
        if path == EXEC_PATH:
            from quant_operator.kube import KubeError

            raise KubeError(403, "deployments is forbidden")
        return await original(path, body, strategic=strategic)

    kube.patch = refuse_execution  # type: ignore[method-assign]
    out = await reconcile(ports, NS, "day1", events)
    assert out is not None and out.phase is Phase.SYNCING
    conds = {c["type"]: c for c in kube.objects[TD_PATH]["status"]["conditions"]}
    assert conds["ExecutionConfigured"]["reason"] == "PatchFailed"
    assert "forbidden" in conds["ExecutionConfigured"]["message"]


def test_rupee_strings_keep_their_paise_exactly() -> None:
    limits = RiskLimitsSpec.model_validate({"maxOrderValue": "999999999999.99"})
    assert limits.max_order_value == Decimal("999999999999.99")
