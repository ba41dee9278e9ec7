"""What the end-to-end tests share: a free loopback port and a load-stretched time budget."""

from __future__ import annotations

import os
import socket


def stretched(seconds: float) -> float:
    """``seconds`` on an idle machine, stretched (at most 4x) while the CPUs are
    oversubscribed: the requirement is about the platform, not about sharing two cores
    with a dozen other processes (the run-queue length per CPU says how much slower
    everything runs)."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return seconds * min(max(load, 1.0), 4.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
