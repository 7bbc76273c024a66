"""Progress for long work: tqdm on a terminal, plain periodic lines otherwise, nothing if quiet."""

from __future__ import annotations

import sys
import time


class Progress:
    """Count finished units of work and report them on stderr.

    On a terminal this is a tqdm bar; when stderr is not a terminal (batch jobs, logs) it
    writes one plain line at every 10 % and at the end; with ``quiet`` it says nothing.
    """

    def __init__(self, total: int, desc: str, quiet: bool = False, stream=None, initial: int = 0):
        self.total = max(int(total), 1)
        self.desc = desc
        self.done = initial
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.start = time.perf_counter()
        self._bar = None
        self._next_report = 0.1
        if quiet:
            return
        if getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, unit="chunk",
                             file=self.stream, leave=False)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        frac = self.done / self.total
        if frac >= self._next_report or self.done == self.total:
            elapsed = time.perf_counter() - self.start
            print(f"{self.desc}: {self.done}/{self.total} chunks ({100 * frac:.0f} %), "
                  f"{elapsed:.1f} s", file=self.stream, flush=True)
            while self._next_report <= frac:
                self._next_report += 0.1

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def log(self, message: str) -> None:
        """One plain line (suppressed when quiet)."""
        if not self.quiet:
            print(message, file=self.stream, flush=True)
