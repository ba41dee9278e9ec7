"""A small progress bar on stderr: redrawn in place on a TTY, plain lines otherwise.

``quant sync-instruments`` reports download, parse and upsert progress through it.
Non-TTY output (CI logs, pipes) gets one line per phase and per 25% step, so logs stay
readable. This is presentation at the CLI edge, written to the stream it is given.
"""

from __future__ import annotations

from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO, *, tty: bool | None = None, width: int = 30) -> None:
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._width = width
        self._phase = ""
        self._total = 0
        self._last_step = -1

    def start(self, phase: str, total: int = 0) -> None:
        self.finish()
        self._phase, self._total, self._last_step = phase, total, -1
        if not self._tty:
            suffix = f" (of {total})" if total else ""
            self._stream.write(f"{phase}...{suffix}\n")
        else:
            self.update(0)

    def update(self, done: int) -> None:
        if self._tty:
            if self._total:
                frac = min(done / self._total, 1.0)
                filled = int(frac * self._width)
                bar = "#" * filled + "-" * (self._width - filled)
                text = f"\r{self._phase:<12} [{bar}] {frac:6.1%} {done}/{self._total}"
            else:
                text = f"\r{self._phase:<12} {done}"
            self._stream.write(text)
        elif self._total:
            step = int(4 * min(done / self._total, 1.0))
            if step > self._last_step and 0 < step < 4:
                self._stream.write(f"{self._phase}: {done}/{self._total}\n")
            self._last_step = max(step, self._last_step)
        self._stream.flush()

    def finish(self, *, ok: bool = True) -> None:
        """End the current phase: ``done``, or ``stopped`` when the command failed."""
        if self._phase and self._tty:
            self._stream.write("\n" if ok else " stopped\n")
        elif self._phase and (self._total or not ok):
            self._stream.write(f"{self._phase}: {'done' if ok else 'stopped'}\n")
        self._phase = ""
        self._stream.flush()
