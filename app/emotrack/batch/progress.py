"""Batch progress on stderr: a tqdm bar with the ETA on a terminal; otherwise one plain
line per finished line (logs and CI stay readable, no carriage returns)."""

from __future__ import annotations

import sys
import time
from typing import Any

from ..cli.options import one_line


class BatchProgress:
    def __init__(self, quiet: bool = False, stream=None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.total = self.done = self.failed = 0
        self._began = time.monotonic()
        self._bar = None

    def begin(self, total: int, unchanged: int = 0) -> None:
        """``total`` lines to run now; ``unchanged`` lines were skipped (done before)."""
        self.total, self._began = total, time.monotonic()
        if self.quiet:
            return
        if unchanged:
            print(f"batch: {unchanged} lines unchanged since the last run, {total} to run",
                  file=self.stream, flush=True)
        if total and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=self.stream, unit="line", dynamic_ncols=True,
                             desc="batch", smoothing=0.1)

    def line_finished(self, record: dict[str, Any]) -> None:
        self.done += 1
        failed = record.get("status") != "ok"
        self.failed += failed
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.set_postfix(failed=self.failed, refresh=False)
            self._bar.update(1)
            if failed:
                self._bar.write(f"emotrack: {one_line(record['name'])} failed: {one_line(record.get('error'))}",
                                file=self.stream)
            return
        elapsed = time.monotonic() - self._began
        eta = elapsed / self.done * (self.total - self.done)
        what = "ok" if not failed else f"FAILED: {one_line(record.get('error'))}"
        print(f"batch: {self.done}/{self.total} {one_line(record['name'])} {what} "
              f"({record.get('seconds', 0):.1f} s; eta {_duration(eta)})", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds // 60 % 60:02d} min"
