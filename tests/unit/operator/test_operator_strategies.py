"""spec.strategies: the spec's checks, the file the runtime reads, what execution gets,
and the reconciler writing them (in-memory apiserver)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from operator_kit import (
    CONFIGMAPS,
    DEPLOY,
    MACROSS,
    NS,
    STRATEGIES_CM,
    TD_PATH,
    Events,
    FakeKube,
    deployment,
    ist,
    replicas,
    world,
)

from quant.execution.settings import ExecutionSettings
from quant.strategy.config import load_strategies, strategy_entries
from quant.trading.client_ids import strategy_prefix
from quant_operator import execution, strategies
from quant_operator.builders import DayRef
from quant_operator.kube import KubeError
from quant_operator.reconciler import reconcile
from quant_operator.spec import SpecError, parse_spec

__all__ = ["world"]  # the shared fixture

CM_PATH = f"{CONFIGMAPS}/{STRATEGIES_CM}"
STRATEGY_PATH = f"{DEPLOY}/quant-strategy"
DAY_REF = DayRef("day1", NS, "td-uid")


def _spec(*entries: dict[str, Any], **fields: Any) -> Any:
    raw = {"date": "2026-11-25", "tokenSecretRef": {"name": "t"}, **fields}
    return parse_spec({**raw, "strategies": list(entries)})


def _condition(kube: FakeKube, kind: str) -> dict[str, Any]:
    (cond,) = [c for c in kube.objects[TD_PATH]["status"]["conditions"] if c["type"] == kind]
    return cond


# --- the spec -------------------------------------------------------------------------


def test_a_file_path_class_is_refused_with_the_reason() -> None:
    with pytest.raises(SpecError, match=r"strategies\.0\.class.*file path"):
        _spec({"id": "orb", "class": "orb.py:OpeningRange"})
    with pytest.raises(SpecError, match=r"strategies\.0\.class"):
        _spec({"id": "orb", "class": "strategies/orb.py:OpeningRange"})


def test_duplicate_ids_and_clashing_order_id_prefixes_are_refused() -> None:
    with pytest.raises(SpecError, match=r"used twice: \['macross'\]"):
        _spec(MACROSS, {**MACROSS, "params": {}})
    seen: dict[str, str] = {}
    clash: tuple[str, str] | None = None
    for i in range(100_000):  # two long ids that hash to one prefix
        name = f"momentum-{i}"
        other = seen.setdefault(strategy_prefix(name), name)
        if other != name:
            clash = (other, name)
            break
    assert clash is not None
    with pytest.raises(SpecError, match="share the client order id prefix"):
        _spec(*({"id": i, "class": "m:C"} for i in clash))


def test_a_strategy_mode_other_than_the_days_is_refused() -> None:
    with pytest.raises(SpecError, match=r"\['macross'\]: mode must be the day's mode 'paper'"):
        _spec({**MACROSS, "mode": "live"})
    assert _spec({**MACROSS, "mode": "live"}, mode="live").strategies[0].mode == "live"


def test_bad_ids_algo_names_and_limits_are_refused() -> None:
    for bad in (
        {"id": "-x", "class": "m:C"},
        {"id": "x" * 65, "class": "m:C"},
        {"id": "x", "class": "m:C", "algoName": ""},
        {"id": "x", "class": "m:C", "algoName": " MAC"},
        {"id": "x", "class": "m:C", "limits": {"maxExposure": "1.234"}},
        {"id": "x", "class": "m:C", "limits": {"maxPositionQuantity": -1}},
    ):
        with pytest.raises(SpecError, match=r"spec\.strategies\.0"):
            _spec(bad)


# --- the file the runtime reads ----------------------------------------------------------


def test_the_configmap_file_is_what_quant_strategy_run_reads(tmp_path: Path) -> None:
    spec = _spec(MACROSS, {"id": "orb", "class": "quant.strategy.examples.ma_cross:MaCross"})
    text = strategies.config_yaml(spec)
    assert text == strategies.config_yaml(spec)  # deterministic: so is the checksum
    path = tmp_path / strategies.CONFIG_KEY
    path.write_text(text)
    entries = strategy_entries([], path)
    assert [(e.id, e.spec, e.algo_name, e.mode) for e in entries] == [
        ("macross", MACROSS["class"], "MAC-1", "paper"),
        ("orb", MACROSS["class"], "", "paper"),
    ]
    loaded = load_strategies(entries)  # the classes load and the parameters validate
    assert loaded[0].params.model_dump()["fast"] == 5


def test_execution_gets_the_algo_names_and_limits_it_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = _spec(MACROSS, {"id": "orb", "class": "m:C", "limits": {"maxPositionQuantity": 0}})
    env = execution.day_env(spec)
    assert env[execution.ALGO_NAMES] == '{"macross":"MAC-1"}'
    assert json.loads(env[execution.RISK_STRATEGIES] or "") == {
        "macross": {
            "max_daily_loss": "2000.50",
            "max_exposure": "150000.00",
            "max_position_quantity": 100,
        },
        "orb": {"max_position_quantity": 0},
    }
    monkeypatch.setenv("QUANT_ALGO_NAMES", env[execution.ALGO_NAMES] or "")
    monkeypatch.setenv("QUANT_RISK__STRATEGIES", env[execution.RISK_STRATEGIES] or "")
    limits = ExecutionSettings().risk.to_limits().strategies
    assert ExecutionSettings().algo_name_for("macross") == "MAC-1"
    assert (limits["macross"].max_exposure, limits["macross"].max_daily_loss) == (
        15_000_000,
        200_050,
    )
    none = execution.day_env(_spec({"id": "orb", "class": "m:C"}))
    assert none[execution.ALGO_NAMES] is None and none[execution.RISK_STRATEGIES] is None


def test_configmap_patch_is_none_when_it_already_holds_the_days_file() -> None:
    text = strategies.config_yaml(_spec(MACROSS))
    cm = strategies.build_configmap(DAY_REF, STRATEGIES_CM, text)
    assert strategies.configmap_patch(cm, DAY_REF, text) is None
    other = DayRef("day2", NS, "other-uid")
    patch = strategies.configmap_patch(cm, other, text)
    assert patch is not None and patch["metadata"]["ownerReferences"][0]["uid"] == "other-uid"
    assert strategies.configmap_patch(cm, DAY_REF, text + "#\n") is not None


# --- the reconciler ----------------------------------------------------------------------


async def _run_to_trading(world: Any) -> tuple[FakeKube, Events]:
    kube, clock, _, ports, events = world
    for hh, mm in [(7, 0), (8, 20)]:
        clock.set_ns(ist(hh, mm))
        await reconcile(ports, NS, "day1", events)
    for o in kube.objects.values():  # the sync Job completes
        if "batch" in str(o.get("apiVersion", "")) and not o.get("status"):
            o["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    for hh, mm in [(8, 21), (9, 1), (9, 20)]:
        clock.set_ns(ist(hh, mm))
        await reconcile(ports, NS, "day1", events)
    return kube, events


async def test_the_day_writes_its_strategies_and_runs_one_strategy_pod(world: Any) -> None:
    kube, _, _, ports, events = world
    assert CM_PATH not in kube.objects
    kube, events = await _run_to_trading(world)
    cm = kube.objects[CM_PATH]
    text = cm["data"][strategies.CONFIG_KEY]
    assert text == strategies.config_yaml(parse_spec(kube.objects[TD_PATH]["spec"]))
    assert cm["metadata"]["ownerReferences"][0]["uid"] == "td-uid"
    annotations = kube.objects[STRATEGY_PATH]["spec"]["template"]["metadata"]["annotations"]
    assert annotations[strategies.ANNOTATION_CONFIG_CHECKSUM] == strategies.checksum(text)
    assert replicas(kube)["strategy"] == 1
    cond = _condition(kube, "StrategiesConfigured")
    assert cond["status"] == "True" and "macross" in cond["message"]
    # Idempotent: another reconcile writes nothing.
    before = len([c for c in kube.calls if c[0] in ("PATCH", "POST") and "configmaps" in c[1]])
    await reconcile(ports, NS, "day1", events)
    after = len([c for c in kube.calls if c[0] in ("PATCH", "POST") and "configmaps" in c[1]])
    assert after == before
    assert ("PATCH", STRATEGY_PATH) not in kube.calls[-6:]


async def test_changed_parameters_rewrite_the_file_and_restart_the_pods(world: Any) -> None:
    kube, _, _, ports, events = world
    kube, events = await _run_to_trading(world)
    first = kube.objects[CM_PATH]["data"][strategies.CONFIG_KEY]
    changed = copy.deepcopy(MACROSS)
    changed["params"]["slow"] = 30
    kube.objects[TD_PATH]["spec"]["strategies"] = [changed]
    await reconcile(ports, NS, "day1", events)
    text = kube.objects[CM_PATH]["data"][strategies.CONFIG_KEY]
    assert text != first and "slow: 30" in text
    template = kube.objects[STRATEGY_PATH]["spec"]["template"]
    assert template["metadata"]["annotations"][strategies.ANNOTATION_CONFIG_CHECKSUM] == (
        strategies.checksum(text)
    )
    assert any(r == "StrategiesConfigured" and "restarts" in m for _, r, m in events.seen)


async def test_no_strategies_keep_the_strategy_at_zero_and_say_why(world: Any) -> None:
    kube, *_ = world
    kube.objects[TD_PATH]["spec"]["strategies"] = []
    kube, _ = await _run_to_trading(world)
    assert replicas(kube)["strategy"] == 0 and replicas(kube)["ingestor"] == 2
    cond = _condition(kube, "StrategiesConfigured")
    assert (cond["status"], cond["reason"]) == ("False", "NoStrategies")
    assert "stays at 0 replicas" in cond["message"]
    assert CM_PATH not in kube.objects


async def test_a_deployment_without_the_volume_is_not_scaled_up(world: Any) -> None:
    kube, *_ = world
    bare = deployment("strategy")
    bare["spec"]["replicas"] = 0
    del bare["spec"]["template"]["spec"]["volumes"]
    kube.put(DEPLOY, bare)  # no 'strategies' volume: it could not read them
    kube, _ = await _run_to_trading(world)
    assert replicas(kube)["strategy"] == 0 and replicas(kube)["ingestor"] == 2
    cond = _condition(kube, "StrategiesConfigured")
    assert (cond["status"], cond["reason"]) == ("False", "NoConfigVolume")


async def test_execution_gets_the_algo_names_and_limits_while_active(world: Any) -> None:
    kube, *_ = world
    exe = deployment("execution", managed=False)
    exe["spec"]["template"]["spec"]["containers"][0]["name"] = "execution"
    kube.put(DEPLOY, exe)
    kube, _ = await _run_to_trading(world)
    (container,) = kube.objects[f"{DEPLOY}/quant-execution"]["spec"]["template"]["spec"][
        "containers"
    ]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["QUANT_ALGO_NAMES"] == '{"macross":"MAC-1"}'
    assert json.loads(env["QUANT_RISK__STRATEGIES"])["macross"]["max_position_quantity"] == 100


async def test_a_refused_configmap_write_holds_the_strategy_and_says_so(world: Any) -> None:
    kube, *_ = world
    create = kube.create

    async def forbidden(path: str, body: Any) -> Any:
        if "/configmaps" in path:
            raise KubeError(403, "configmaps is forbidden: cannot create")
        return await create(path, body)

    kube.create = forbidden
    kube, events = await _run_to_trading(world)
    assert replicas(kube)["strategy"] == 0 and replicas(kube)["ingestor"] == 2
    cond = _condition(kube, "StrategiesConfigured")
    assert (cond["status"], cond["reason"]) == ("False", "PatchFailed")
    assert "forbidden" in cond["message"]
    assert any(r == "StrategiesNotConfigured" for _, r, _ in events.seen)
