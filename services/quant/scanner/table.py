"""A cycle's picks as the ranked table ``quant scanner --once`` prints (pure text)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from quant.core.clock import IST, ns_to_datetime
from quant.core.events import ScannerSuggestion
from quant.core.money import paise_to_str

KEY_SIGNALS = (
    ("orb", "ORB%", "{:+.2f}"),
    ("high_dist", "HIGH%", "{:+.2f}"),
    ("rel_volume", "RVOL", "{:.1f}x"),
    ("rel_strength", "RS", "{:+.2f}"),
)


def _value(signals: dict[str, float], name: str, spec: str) -> str:
    v = signals.get(name, math.nan)
    return "-" if math.isnan(v) else spec.format(v)


def format_picks(picks: Sequence[ScannerSuggestion], *, universe: int, quoted: int) -> str:
    """Rank, symbol, score, last price, the key signals and the reasons, one pick a line."""
    if not picks:
        return f"no picks ({universe} names scanned, {quoted} quoted)\n"
    when = ns_to_datetime(picks[0].ts_event, IST).strftime("%Y-%m-%d %H:%M IST")
    header = ["#", "SYMBOL", "SCORE", "LAST", *(h for _, h, _ in KEY_SIGNALS), "REASONS"]
    rows = []
    for p in picks:
        signals = dict(p.signals)
        rows.append(
            [
                str(p.rank),
                p.trading_symbol,
                f"{p.score:+.2f}",
                paise_to_str(p.last_price),
                *(_value(signals, name, spec) for name, _, spec in KEY_SIGNALS),
                "; ".join(p.reasons) or "-",
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = [f"scanner picks at {when}: {len(picks)} of {universe} names ({quoted} quoted)"]
    for r in [header, *rows]:
        cells = [
            c.ljust(w) if i == 1 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r[:-1], widths, strict=True))
        ]
        lines.append("  ".join([*cells, r[-1]]))
    return "\n".join(lines) + "\n"
