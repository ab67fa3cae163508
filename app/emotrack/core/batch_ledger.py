"""The record of a batch's finished lines, kept in ``OUTDIR/batch-ledger.jsonl``.

One JSON object per finished line (ok or failed), appended and fsynced as soon as the
line's outputs are all written, so a batch killed at any moment loses at most the lines
in flight, and their outputs are either absent or complete (atomic writes). A rerun
reads the ledger: the last record of a name wins, and a torn last line (the kill hit
the append itself) is ignored. The ledger only grows; :meth:`Ledger.compact` rewrites it
atomically with the last record of each name.

A lock file (``OUTDIR/.batch.lock``, ``flock``) keeps two batches from writing the same
folder at once; it is released when the process ends, however it ends.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from .atomic import write_text_atomic

LEDGER_NAME = "batch-ledger.jsonl"
LOCK_NAME = ".batch.lock"


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        self._read()

    def _read(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # the torn last append of a killed batch
            if isinstance(record, dict) and isinstance(record.get("name"), str):
                self.records[record["name"]] = record

    def is_done(self, name: str, fingerprint: str, outputs: list[Path]) -> bool:
        """Whether ``name`` finished with this fingerprint and its outputs are still there."""
        record = self.records.get(name)
        return (record is not None and record.get("status") == "ok"
                and record.get("fingerprint") == fingerprint and all(p.is_file() for p in outputs))

    def append(self, record: dict[str, Any]) -> None:
        line = _ledger_line(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as handle:
            # A torn last line would swallow this record: start on a fresh line.
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        self.records[record["name"]] = record

    def compact(self) -> None:
        write_text_atomic(self.path, "".join(_ledger_line(r) for r in self.records.values()))


def _ledger_line(record: dict[str, Any]) -> str:
    return json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n"


def lock_folder(folder: Path):
    """Hold ``folder``'s batch lock for as long as the returned file stays open;
    ParameterError if another batch holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_NAME, "a")
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the user keeps batches apart
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ParameterError(f"another batch is writing to {folder}; wait for it or choose another -o") from None
    return handle
