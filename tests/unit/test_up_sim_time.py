"""``quant up`` runs on the simulator's clock: its freshness thresholds follow the speed."""

from __future__ import annotations

from quant.up.platform import _sim_timed
from quant.up.settings import UpSettings


def test_thresholds_scale_with_a_faster_simulator_and_stay_at_real_speed() -> None:
    assert _sim_timed(UpSettings(sim_speed=1.0)).freshness.stale_after_s == 5.0
    fast = _sim_timed(UpSettings(sim_speed=10.0))  # a frame every 0.5 s = every 5 sim s
    assert (fast.freshness.stale_after_s, fast.freshness.reconnect_after_s) == (50.0, 150.0)
    assert fast.gateway.stale_after_s == 50.0
    assert fast.sim_speed == 10.0
