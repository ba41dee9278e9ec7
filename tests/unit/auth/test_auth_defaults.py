"""The default ports of ``quant auth login`` clash with nothing the README starts beside it.

A newcomer runs ``quant sim --port 8765`` (the simulator's default), the gateway on 8080,
the ingestor's and feature engine's metrics on 9101/9102, and then ``quant auth login``:
its redirect receiver and its webhook must listen elsewhere, and the simulator's app must
be registered with the same redirect URI the client sends by default.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from quant.cli import build_parser
from quant.features.settings import FeaturesSettings
from quant.gateway.settings import GatewaySettings
from quant.ingestor.settings import IngestorSettings
from quant.sim.config import SimConfig
from quant.upstox.settings import UpstoxSettings


def _redirect_port() -> int:
    port = urlsplit(UpstoxSettings().redirect_uri).port
    assert port is not None, "the default redirect URI names its port"
    return port


def test_the_redirect_receiver_does_not_clash_with_the_other_default_ports() -> None:
    parser = build_parser()
    sim_port = parser.parse_args(["sim"]).port
    webhook_port = parser.parse_args(["auth", "login"]).webhook_port
    others = {
        "quant sim": sim_port,
        "auth webhook": webhook_port,
        "gateway": GatewaySettings().port,
        "ingestor metrics": IngestorSettings.model_fields["metrics_port"].default,
        "features metrics": FeaturesSettings.model_fields["metrics_port"].default,
    }
    clashes = {name: port for name, port in others.items() if port == _redirect_port()}
    assert clashes == {}, f"redirect port {_redirect_port()} is also used by {clashes}"
    assert webhook_port != sim_port


def test_the_simulator_registers_the_clients_default_redirect_uri() -> None:
    assert SimConfig().redirect_uri == UpstoxSettings().redirect_uri


def test_the_default_redirect_uri_is_a_local_http_receiver() -> None:
    url = urlsplit(UpstoxSettings().redirect_uri)
    assert url.scheme == "http" and url.hostname == "127.0.0.1" and url.path == "/callback"
