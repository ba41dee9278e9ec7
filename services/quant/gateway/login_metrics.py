"""The login page's metrics: ``gateway_login_failures_total{reason}`` and
``gateway_login_lockouts_total``.

Made once per process (the gateway service builds them in its registry; ``create_app``
makes unregistered ones otherwise) and counted by :mod:`quant.gateway.login`.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

# why a login was refused: a wrong name or password, a disabled user, a locked-out name or
# address, a missing or stale form token, no user store to ask
LOGIN_FAILURE_REASONS = ("bad_credentials", "disabled", "locked_out", "csrf", "unavailable")


@dataclass(frozen=True)
class LoginMetrics:
    failures: Counter  # {reason}
    lockouts: Counter  # a name or address reached the limit


def login_metrics(registry: CollectorRegistry | None) -> LoginMetrics:
    """The counters in ``registry`` (None: not registered), every reason exported at 0."""
    failures = Counter(
        "gateway_login_failures_total",
        "Refused logins on the gateway's login page, by reason",
        ["reason"],
        registry=registry,
    )
    for reason in LOGIN_FAILURE_REASONS:
        failures.labels(reason=reason)
    lockouts = Counter(
        "gateway_login_lockouts_total",
        "Failed logins that locked a user name or a client address out",
        registry=registry,
    )
    return LoginMetrics(failures, lockouts)
