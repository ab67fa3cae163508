"""Atomic, permission-preserving file writes: every output of the CLI and the app.

The content goes to a temporary file beside the target (``.NAME.XXXX.tmp``), is flushed
to disk, gets the right mode and is renamed over the target (``os.replace`` is atomic on
one file system), so a crash mid-write leaves the previous file intact. Rules:

- Replacing a file keeps its mode (a 0644 file stays 0644); a new file gets the mode
  the umask gives an ordinary new file (0666 & ~umask), not mkstemp's 0600.
- A symlink is written through: its target is replaced and the link stays a link.
- An empty path, a folder, or a path under a regular file is refused with one sentence
  (:class:`OutputError`), and so is any OS failure (not writable, disk full ...).
- Stale temp files: a ``.NAME.*.tmp`` beside the target that has not been modified for
  :data:`STALE_TEMP_SECONDS` is the leftover of a killed write of the same file and is
  removed before the next write. A live write touches its temp file continuously, so
  ten idle minutes cannot be a write in progress.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

from ..errors import EmotrackError, OutputError

STALE_TEMP_SECONDS = 600


def output_path(path: str | Path) -> Path:
    """The file that a write to ``path`` really replaces (symlinks followed), or
    :class:`OutputError` if ``path`` cannot name an output file. Call it early, before
    long work, so that a bad ``-o`` fails in a second rather than after the analysis."""
    if str(path).strip() == "":
        raise OutputError("the output path is empty; give a file name")
    path = Path(path)
    try:
        # realpath, not resolve(strict=True): a dangling link names the file to create.
        target = Path(os.path.realpath(path)) if path.is_symlink() else path
        if target.is_symlink():  # realpath stops at a loop: replacing it would lose the link
            raise OutputError(f"cannot write {path}: its symlinks form a loop")
        if target.is_dir():
            raise OutputError(f"{path} is a folder; give a file name inside it")
        _check_parents(path, target)
    except OutputError:
        raise
    except OSError as error:  # a name too long, a symlink loop (pathlib lets those through)
        raise _write_failed(path, error) from error
    return target


def _check_parents(shown: Path, target: Path) -> None:
    """A parent that is a regular file would make the write fail with a confusing
    'not a directory' (or mkdir with 'file exists')."""
    for parent in target.absolute().parents:
        if parent.is_dir():
            return  # the first existing folder: everything above it is fine
        if parent.exists() or parent.is_symlink():
            raise OutputError(f"cannot write {shown}: {parent} is a file, not a folder")


def _new_file_mode() -> int:
    """The mode open() would give a new file: 0666 minus the umask."""
    try:  # Linux states the umask without changing it (os.umask is not thread-safe)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _target_mode(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return _new_file_mode()


def remove_stale_temps(target: Path, max_age: float = STALE_TEMP_SECONDS) -> int:
    """Delete ``.NAME.*.tmp`` files of earlier killed writes of ``target`` (see the module
    docstring for the rule); returns how many went. Never fails."""
    removed, now = 0, time.time()
    try:
        candidates = list(target.parent.glob(f".{_glob_escape(target.name)}.*.tmp"))
    except OSError:
        return 0
    for candidate in candidates:
        try:
            if candidate.is_file() and not candidate.is_symlink() and now - candidate.stat().st_mtime > max_age:
                candidate.unlink()
                removed += 1
        except OSError:
            pass  # someone else's file or a race with another cleaner: leave it
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


def _write_failed(shown: Path, error: OSError) -> OutputError:
    reason = error.strerror or str(error)
    return OutputError(f"cannot write {shown}: {reason[0].lower()}{reason[1:]}" if reason else f"cannot write {shown}")


@contextmanager
def _replacing(path: str | Path, mode: str, **options: Any) -> Iterator[IO]:
    """A handle on a temporary file that replaces ``path`` only if the block succeeds."""
    target = output_path(path)
    shown = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        file_mode = _target_mode(target)
        handle = tempfile.NamedTemporaryFile(mode, dir=target.parent, prefix=f".{target.name}.",
                                             suffix=".tmp", delete=False, **options)
    except OSError as error:
        raise _write_failed(shown, error) from error
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), file_mode)
        os.replace(handle.name, target)
    except BaseException as error:
        Path(handle.name).unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, EmotrackError):
            raise _write_failed(shown, error) from error
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    with _replacing(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return Path(path)


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Strict JSON only: NaN or Infinity would write a file that no JSON reader (not even
    Emotrack's project loader) accepts, so such data is refused before the old file is
    touched."""
    try:
        text = json.dumps(data, indent=1, allow_nan=False)
    except ValueError:
        raise OutputError(f"{path} was not written: the data holds a number that is not finite "
                          "(NaN or infinity), which JSON cannot store; the previous file is kept") from None
    return write_text_atomic(path, text)


@contextmanager
def atomic_binary_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file handle whose content replaces ``path`` only if the block succeeds:
    for large outputs written in pieces (vertex caches, glTF binaries, audio)."""
    with _replacing(path, "wb") as handle:
        yield handle


@contextmanager
def atomic_text_file(path: str | Path) -> Iterator[IO[str]]:
    """A UTF-8 text handle (newline='' for csv) whose content replaces ``path`` on success."""
    with _replacing(path, "w", encoding="utf-8", newline="") as handle:
        yield handle
