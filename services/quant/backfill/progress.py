"""The backfill's progress bar on stderr: requests done, candles written, the ETA.

On a TTY it is redrawn in place; otherwise (CI, a Job's log) one line per 10% of the
requests, so logs stay short. The ETA is :func:`quant.backfill.eta.eta_seconds`: the
rate limits' bound or the pace so far, whichever is longer. Presentation at the CLI edge.
"""

from __future__ import annotations

from typing import TextIO

from quant.backfill.engine import BackfillProgress
from quant.backfill.eta import eta_seconds, format_duration


class ProgressBar:
    def __init__(self, stream: TextIO, *, tty: bool | None = None, width: int = 28) -> None:
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._width = width
        self._last_step = -1
        self._drawn = False

    def text(self, p: BackfillProgress) -> str:
        frac = p.requests_done / p.requests_total if p.requests_total else 1.0
        filled = int(frac * self._width)
        bar = "#" * filled + "-" * (self._width - filled)
        eta = format_duration(eta_seconds(p.requests_done, p.requests_total, p.elapsed_s))
        extra = f", {p.errors} errors" if p.errors else ""
        return (
            f"backfill [{bar}] {p.requests_done}/{p.requests_total} requests, "
            f"{p.candles_written:,} candles{extra}, ETA {eta}"
        )

    def __call__(self, p: BackfillProgress) -> None:
        if self._tty:
            self._stream.write("\r" + self.text(p) + "\x1b[K")
            self._drawn = True
        else:
            step = int(10 * p.requests_done / p.requests_total) if p.requests_total else 10
            if step > self._last_step:
                self._stream.write(self.text(p) + "\n")
                self._last_step = step
        self._stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False
