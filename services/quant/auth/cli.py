"""``quant auth login|status``: the auth helper's command line and composition root.

``login`` runs the OAuth code flow (default) or the token-request flow and stores the
token in the file ``QUANT_UPSTOX__TOKEN_FILE`` (0600) or, with ``--k8s-secret NS/NAME``
(or ``QUANT_K8S_SECRET``), in a Kubernetes Secret: through the service account inside a
pod, else through the kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``). The Secret is
read first, so a cluster that cannot be reached is said before the single-use login.
``status`` reports who the stored token belongs to and when it expires, never the token.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.auth.settings import AuthSettings
    from quant.upstox.auth import TokenStore


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "auth", help="log in to Upstox and store the access token"
    )
    sub = parser.add_subparsers(dest="auth_command", metavar="ACTION", required=True)
    login = sub.add_parser("login", help="run a login flow and store the token")
    login.add_argument("--flow", choices=["code", "request"], default="code")
    login.add_argument("--k8s-secret", metavar="NS/NAME", help="store in this Kubernetes Secret")
    login.add_argument("--webhook-port", type=int, default=8766)
    login.add_argument("--webhook-path", default="/upstox/notifier")
    login.add_argument("--timeout", type=float, default=300.0)
    login.set_defaults(func=_login)
    status = sub.add_parser("status", help="show the stored token's owner and expiry")
    status.add_argument("--k8s-secret", metavar="NS/NAME")
    status.set_defaults(func=_status)


def _store(settings: AuthSettings, secret: str | None) -> TokenStore:
    target = secret or settings.k8s_secret
    if target:
        from quant.upstox.k8s_secret import KubernetesSecretTokenStore

        namespace, _, name = target.partition("/")
        if not name:
            raise SystemExit("--k8s-secret must be NAMESPACE/NAME")
        return KubernetesSecretTokenStore(namespace, name)
    from quant.upstox.auth import FileTokenStore

    return FileTokenStore(settings.upstox.token_file)


def _check_store(store: TokenStore) -> str | None:
    """Reach the store before the login (an Upstox code is single-use): None if fine,
    else why not."""
    from quant.upstox.errors import UpstoxError
    from quant.upstox.k8s_secret import KubernetesSecretTokenStore

    if not isinstance(store, KubernetesSecretTokenStore):
        return None
    try:
        store.load()
    except (UpstoxError, ValueError) as e:
        return str(e)
    _say(f"the token will be stored in {store.describe()}")
    return None


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _login(args: argparse.Namespace) -> int:
    from quant.auth.service import login_with_code, login_with_token_request
    from quant.auth.settings import AuthSettings
    from quant.core.clock import SystemClock
    from quant.runtime.logs import setup_logging
    from quant.upstox.errors import UpstoxError

    settings = AuthSettings()
    setup_logging(settings.log_level, json_format=settings.log_format == "json")
    store = _store(settings, args.k8s_secret)
    problem = _check_store(store)
    if problem is not None:
        _say(f"login not started: {problem}")
        return 1
    clock = SystemClock()
    if args.flow == "code":
        flow = login_with_code(
            settings.upstox,
            store,
            announce=lambda url: _say(f"Open this URL, log in and approve:\n  {url}"),
            clock=clock,
            wait_seconds=args.timeout,
        )
    else:
        flow = login_with_token_request(
            settings.upstox,
            store,
            announce=_say,
            clock=clock,
            webhook_port=args.webhook_port,
            webhook_path=args.webhook_path,
            wait_seconds=args.timeout,
        )
    try:
        token = asyncio.run(flow)
    except (UpstoxError, TimeoutError, ValueError) as e:
        _say(f"login failed: {e}")
        return 1
    _say(f"stored {token.describe()}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from quant.auth.settings import AuthSettings
    from quant.core.clock import SystemClock
    from quant.upstox.errors import UpstoxError

    store = _store(AuthSettings(), args.k8s_secret)
    try:
        token = store.load()
    except (UpstoxError, ValueError) as e:
        _say(f"cannot read the token: {e}")
        return 1
    if token is None:
        _say("no token stored; run `quant auth login`")
        return 1
    expired = token.is_expired(SystemClock().now_ns())
    _say(f"{token.describe()}{' (EXPIRED)' if expired else ''}")
    return 1 if expired else 0
