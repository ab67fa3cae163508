"""Atomic file writes: a crash mid-write leaves the previous file intact.

The content goes to a temporary file beside the target, is flushed to disk, and is
renamed over the target (``os.replace`` is atomic on one file system).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO


@contextmanager
def _replacing(path: str | Path, mode: str, **options: Any) -> Iterator[IO]:
    """A handle on a temporary file that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                         delete=False, **options)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    with _replacing(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return Path(path)


def write_json_atomic(path: str | Path, data: Any) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=1))


@contextmanager
def atomic_binary_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file handle whose content replaces ``path`` only if the block succeeds:
    for large outputs written in pieces (vertex caches, glTF binaries)."""
    with _replacing(path, "wb") as handle:
        yield handle
