"""Run a batch: plan its lines, skip the finished ones, feed the rest to an engine, and
keep the ledger and the summary.

The engine is a function ``engine(jobs, on_result)`` (``local_pool.run_local`` or
``ray_pool.run_ray`` with their options bound) that calls ``on_result`` in this process
for each finished line; each record is appended to the ledger at once (fsync), so a
kill loses at most the lines in flight. The summary is rewritten atomically every
:data:`SUMMARY_EVERY_SECONDS` while lines finish and when the batch ends, also when it
is interrupted; a rerun rewrites it for the whole batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.batch_ledger import LEDGER_NAME, Ledger, lock_folder
from ..core.batch_plan import BatchLine, line_fingerprint, model_identity
from ..core.batch_report import REPORT_HTML, SUMMARY_CSV, SUMMARY_JSONL, write_summary
from ..core.file_digest import file_sha256
from ..core.project_file import SUFFIX
from ..resources import emotion_model_dir
from .work import BatchSettings, LineJob, line_actor

SUMMARY_EVERY_SECONDS = 30.0

Engine = Callable[[list[LineJob], Callable[[dict[str, Any]], None]], None]


@dataclass
class BatchOutcome:
    total: int = 0
    analysed: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def not_run(self) -> int:
        return self.total - self.analysed - self.skipped - self.failed


def run_batch(lines: list[BatchLine], folder: Path, settings: BatchSettings, suffixes: dict[str, str],
              engine: Engine, progress=None, force: bool = False) -> BatchOutcome:
    """Bring ``folder`` up to date with ``lines``: ``suffixes`` maps each export kind of
    ``settings.exports`` to its file suffix; ``force`` re-runs finished lines too."""
    folder = Path(folder)
    lock = lock_folder(folder)
    try:
        return _run_locked(lines, folder.resolve(), settings, suffixes, engine, progress, force)
    finally:
        lock.close()


def _run_locked(lines, folder, settings, suffixes, engine, progress, force) -> BatchOutcome:
    ledger = Ledger(folder / LEDGER_NAME)
    model = model_identity(settings.model, emotion_model_dir(settings.model))
    common = settings.as_dict()
    outcome = BatchOutcome(total=len(lines))
    fingerprints: dict[str, str] = {}
    jobs: list[LineJob] = []
    early: list[dict[str, Any]] = []  # lines that fail before any worker sees them
    audio_ids: dict[str, dict[str, Any]] = {}  # name -> what the ledger keeps of its audio
    planned_files = {SUMMARY_CSV, SUMMARY_JSONL, REPORT_HTML, LEDGER_NAME}
    for line in lines:
        job = _job(line, folder, settings, suffixes)
        planned_files.update(Path(p).name for p in (job.project, *job.outputs.values()))
        try:
            audio_ids[line.name] = _audio_id(job.audio, ledger.records.get(line.name))
        except OSError as error:
            early.append(_failure(job, f"cannot read {line.audio}: {error.strerror or error}"))
            continue
        audio_hash = audio_ids[line.name]["audio_sha256"]
        actor = line_actor(settings, line.character)
        fingerprint = line_fingerprint(audio_hash, model, {
            **common, "prior": line.prior, "prior_strength": line.prior_strength,
            **({"actor": actor["mean"]} if actor is not None else {})})
        fingerprints[line.name] = fingerprint
        outputs = [Path(job.project), *map(Path, job.outputs.values())]
        if not force and ledger.is_done(line.name, fingerprint, outputs):
            outcome.skipped += 1
            continue
        jobs.append(LineJob(**{**job.__dict__, "fingerprint": fingerprint}))

    _remove_killed_writes(folder, planned_files)
    ran: dict[str, str] = {}
    last_summary = [time.monotonic()]

    def summarise() -> None:
        rows = [_row(line, ledger.records.get(line.name), fingerprints.get(line.name), ran.get(line.name))
                for line in lines]
        write_summary(folder, rows, title=f"Emotrack batch: {folder.name}")
        last_summary[0] = time.monotonic()

    def finished(record: dict[str, Any]) -> None:
        record.update(audio_ids.get(record["name"], {}))
        record["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ledger.append(record)
        ran[record["name"]] = "analysed" if record["status"] == "ok" else "failed"
        if record["status"] == "ok":
            outcome.analysed += 1
        else:
            outcome.failed += 1
        if progress is not None:
            progress.line_finished(record)
        if time.monotonic() - last_summary[0] > SUMMARY_EVERY_SECONDS:
            summarise()  # so a long batch's report can be read while it runs

    if progress is not None:
        progress.begin(len(early) + len(jobs), outcome.skipped)
    try:
        for record in early:
            finished(record)
        engine(jobs, finished)
    finally:
        if progress is not None:
            progress.close()
        summarise()
        ledger.compact()
    return outcome


def _audio_id(audio: str, previous: dict | None) -> dict[str, Any]:
    """The audio's SHA-256, and its size and modification time: while those two are what
    the ledger saw, its hash is reused instead of reading the file again (a rerun of a
    100,000-line batch over a network share would otherwise read it all)."""
    stat = os.stat(audio)
    signature = [stat.st_size, stat.st_mtime_ns]
    if (previous is not None and previous.get("audio") == audio and previous.get("audio_stat") == signature
            and isinstance(previous.get("audio_sha256"), str)):
        return {"audio_sha256": previous["audio_sha256"], "audio_stat": signature}
    return {"audio_sha256": file_sha256(audio), "audio_stat": signature}


def _remove_killed_writes(folder: Path, planned: set[str]) -> None:
    """Remove the temp files (``.NAME.XXXXXXXX.tmp``, see core.atomic) that killed writes
    of this batch's files left. We hold the folder's lock, so none is a write in progress.
    One scan of the folder, not one per output: batches have 100,000 lines."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if name.startswith(".") and name.endswith(".tmp") and name[1:-4].rsplit(".", 1)[0] in planned:
            try:
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
            except OSError:
                pass


def _job(line: BatchLine, folder: Path, settings: BatchSettings, suffixes: dict[str, str]) -> LineJob:
    return LineJob(
        name=line.name, audio=os.path.abspath(line.audio), project=str(folder / f"{line.name}{SUFFIX}"),
        outputs={kind: str(folder / f"{line.name}{suffixes[kind]}") for kind in settings.exports},
        character=line.character, prior=line.prior, prior_strength=line.prior_strength)


def _failure(job: LineJob, error: str) -> dict[str, Any]:
    return {"name": job.name, "audio": job.audio, "character": job.character, "fingerprint": "",
            "status": "failed", "error": error, "seconds": 0.0}


def _row(line: BatchLine, record: dict | None, fingerprint: str | None, ran: str | None) -> dict[str, Any]:
    """The summary row of one line: its ledger record when that is this batch's result
    (this run's, or a finished one with the same fingerprint), else "not run"."""
    current = record is not None and (ran is not None or (
        record.get("status") == "ok" and record.get("fingerprint") == fingerprint))
    if not current:
        return {"name": line.name, "audio": os.path.abspath(line.audio), "character": line.character,
                "status": "not run", "this_run": "not run"}
    return {**record, "character": line.character, "this_run": ran or "skipped"}
