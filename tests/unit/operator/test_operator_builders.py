"""Manifest builders, spec parsing, token expiry and the NSE calendar."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time

import pytest

from quant.bus.codecs import encode_control
from quant.core.calendar import NSE_CALENDAR, SessionKind, SessionTimes, calendar_for
from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns
from quant.pb.control.v1 import control_pb2
from quant.sync.settings import SyncSettings
from quant_operator import builders
from quant_operator.builders import DayRef
from quant_operator.phases import Condition
from quant_operator.spec import SpecError, parse_spec
from quant_operator.tokens import jwt_expiry_ns, next_expiry_after, token_expiry_ns

DAY = DayRef("nse-2026-11-25", "trading", "0b7c2f3e-uid")
SPEC = parse_spec({"date": "2026-11-25", "tokenSecretRef": {"name": "upstox-token"}})


def test_sync_job_name_is_deterministic_per_day_and_attempt() -> None:
    assert builders.sync_job_name(DAY, SPEC, 1) == "nse-2026-11-25-sync-20261125-1"
    assert builders.sync_job_name(DAY, SPEC, 1) == builders.sync_job_name(DAY, SPEC, 1)
    assert builders.sync_job_name(DAY, SPEC, 2) != builders.sync_job_name(DAY, SPEC, 1)


def test_long_day_names_still_give_valid_distinct_job_names() -> None:
    long_day = DayRef("a" * 60, "ns", "u")
    one, two = (builders.sync_job_name(long_day, SPEC, n) for n in (1, 2))
    assert len(one) <= 63 and len(two) <= 63 and one != two
    assert builders.sync_job_name(long_day, SPEC, 1) == one


def test_sync_job_runs_quant_sync_instruments_owned_by_the_day() -> None:
    spec = parse_spec(
        {
            "date": "2026-11-25",
            "tokenSecretRef": {"name": "upstox-token", "key": "tok"},
            "instrumentSync": {"backoffLimit": 4, "activeDeadlineSeconds": 600},
        }
    )
    job = builders.build_sync_job(DAY, spec, 2, image="quant-platform:0.1.0")
    assert job["metadata"]["name"] == "nse-2026-11-25-sync-20261125-2"
    assert job["metadata"]["namespace"] == "trading"
    (owner,) = job["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "trading.quant-platform.io/v1alpha1",
        "kind": "TradingDay",
        "name": "nse-2026-11-25",
        "uid": "0b7c2f3e-uid",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert job["spec"]["backoffLimit"] == 4
    assert job["spec"]["activeDeadlineSeconds"] == 600
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["command"] == ["quant", "sync-instruments"]
    assert container["image"] == "quant-platform:0.1.0"
    # the master is public: the Job carries no token, and its env builds the sync settings
    assert not any("valueFrom" in e for e in container["env"])
    env = {e["name"]: e["value"] for e in container["env"]}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        SyncSettings()
    labels = job["metadata"]["labels"]
    assert labels[builders.LABEL_ATTEMPT] == "2"
    sel = dict(kv.split("=") for kv in builders.sync_job_selector(DAY, spec).split(","))
    assert all(labels[k] == v for k, v in sel.items())


def test_spec_image_overrides_the_operator_default() -> None:
    spec = parse_spec({"date": "2026-11-25", "instrumentSync": {"image": "reg/quant:9"}})
    job = builders.build_sync_job(DAY, spec, 1, image="quant-platform:0.1.0")
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/quant:9"


def test_checksum_patch_sets_the_pod_template_annotation_without_the_token() -> None:
    checksum = builders.token_checksum("secret-token")
    assert checksum != builders.token_checksum("other-token") and "secret" not in checksum
    patch = builders.checksum_patch(checksum)
    annotations = patch["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"quant-platform.io/token-checksum": checksum}
    assert builders.scale_patch(3) == {"spec": {"replicas": 3}}


@pytest.mark.parametrize(
    ("pod_spec", "uses"),
    [
        (
            {
                "containers": [
                    {
                        "env": [
                            {
                                "name": "T",
                                "valueFrom": {"secretKeyRef": {"name": "upstox-token", "key": "k"}},
                            }
                        ]
                    }
                ]
            },
            True,
        ),
        ({"containers": [{"envFrom": [{"secretRef": {"name": "upstox-token"}}]}]}, True),
        (
            {
                "containers": [{}],
                "volumes": [{"name": "t", "secret": {"secretName": "upstox-token"}}],
            },
            True,
        ),
        (
            {
                "containers": [{}],
                "volumes": [
                    {"name": "t", "projected": {"sources": [{"secret": {"name": "upstox-token"}}]}}
                ],
            },
            True,
        ),
        ({"containers": [{"envFrom": [{"secretRef": {"name": "db"}}]}]}, False),
        ({"containers": [{}]}, False),
    ],
)
def test_uses_secret_finds_env_envfrom_and_volumes(pod_spec: dict[str, object], uses: bool) -> None:
    dep = {"spec": {"template": {"spec": pod_spec}}}
    assert builders.uses_secret(dep, "upstox-token") is uses


def test_conditions_keep_transition_time_until_status_flips() -> None:
    t0, t1 = 1_000 * NS_PER_SECOND, 2_000 * NS_PER_SECOND
    first = builders.merge_conditions([], [Condition("TokenValid", False, "Missing", "m")], t0, 1)
    same = builders.merge_conditions(
        first, [Condition("TokenValid", False, "Missing", "m2")], t1, 1
    )
    flipped = builders.merge_conditions(same, [Condition("TokenValid", True, "Valid", "ok")], t1, 2)
    assert same[0]["lastTransitionTime"] == first[0]["lastTransitionTime"] == builders.iso(t0)
    assert flipped[0]["lastTransitionTime"] == builders.iso(t1)
    assert flipped[0]["status"] == "True" and flipped[0]["observedGeneration"] == 2


def test_kill_switch_event_is_a_control_event() -> None:
    raw = builders.kill_switch_event(
        engaged=True, flatten=False, reason="r", trading_day="2026-11-25", ts_event_ns=7
    )
    event = control_pb2.ControlEvent.FromString(encode_control(raw))
    assert event.WhichOneof("payload") == "kill_switch"
    assert event.kill_switch.engaged and event.kill_switch.trading_day == "2026-11-25"
    assert event.kill_switch.ts_event == 7


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({}, "spec.date"),
        ({"date": "2026-02-30"}, "spec.date"),
        ({"date": "2026-11-25", "mode": "live"}, "tokenSecretRef"),
        ({"date": "2026-11-25", "exchange": "NYSE"}, "exchange"),
        ({"date": "2026-11-25", "replicas": {"strategy": -1}}, "spec.replicas.strategy"),
        ({"date": "2026-11-25", "schedule": {"marketOpen": "16:00"}}, "ordered"),
        ({"date": "2026-11-25", "schedule": {"holiday": True, "specialSession": True}}, "both"),
    ],
)
def test_invalid_specs_are_rejected_with_the_field_named(
    raw: dict[str, object], needle: str
) -> None:
    with pytest.raises(SpecError, match=needle):
        parse_spec(raw)


def _jwt(claims: dict[str, object]) -> str:
    def enc(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'HS256'})}.{enc(claims)}.sig"


def test_token_expiry_from_the_jwt_exp_claim() -> None:
    token = _jwt({"sub": "X", "iss": "udapi-gateway-service", "exp": 1789250400})
    assert jwt_expiry_ns(token) == 1789250400 * NS_PER_SECOND
    assert token_expiry_ns(token, issued_ns=0) == 1789250400 * NS_PER_SECOND
    assert jwt_expiry_ns("not-a-jwt") is None
    assert jwt_expiry_ns("a.!!!.c") is None
    assert jwt_expiry_ns(_jwt({"sub": "no-exp"})) is None


def test_non_jwt_tokens_die_at_the_next_0330_ist() -> None:
    evening = datetime_to_ns(datetime(2026, 11, 24, 20, 0, tzinfo=IST))
    night = datetime_to_ns(datetime(2026, 11, 25, 2, 30, tzinfo=IST))
    cutoff = datetime_to_ns(datetime(2026, 11, 25, 3, 30, tzinfo=IST))
    assert next_expiry_after(evening) == cutoff
    assert next_expiry_after(night) == cutoff
    assert token_expiry_ns("opaque", expires_at_ms=5) == 5_000_000
    assert token_expiry_ns("opaque") is None


def test_nse_calendar_2026_holidays_weekends_and_sessions() -> None:
    for day in (date(2026, 1, 26), date(2026, 3, 3), date(2026, 11, 24), date(2026, 12, 25)):
        assert not NSE_CALENDAR.is_trading_day(day), day
    assert not NSE_CALENDAR.is_trading_day(date(2026, 11, 28))  # Saturday
    session = NSE_CALENDAR.session(date(2026, 11, 25))
    assert session is not None and session.kind is SessionKind.NORMAL
    assert session.times.open == time(9, 15) and session.times.closing_end == time(16, 0)
    assert NSE_CALENDAR.next_trading_day(date(2026, 11, 23)) == date(2026, 11, 25)
    muhurat = NSE_CALENDAR.session(date(2025, 10, 21))
    assert muhurat is not None and muhurat.kind is SessionKind.SPECIAL
    assert calendar_for("bse") is NSE_CALENDAR
    hol = NSE_CALENDAR.holiday(date(2027, 1, 26))
    assert hol is not None and hol.provisional


def test_session_bounds_are_ist_instants() -> None:
    bounds = SessionTimes().bounds_ns(date(2026, 11, 25))
    assert bounds.open == datetime_to_ns(datetime(2026, 11, 25, 3, 45, tzinfo=UTC))
    with pytest.raises(ValueError, match="ordered"):
        SessionTimes(open=time(17, 0))
