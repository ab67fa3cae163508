"""One batch line, start to finish, in whichever process or actor runs it.

A :class:`LineWorker` loads the emotion model (and the quality estimator and face
network when the batch needs them) once, then turns :class:`LineJob` after job into a
result record. The analysis and exports are :func:`pipeline.analyze_file` and
:func:`pipeline.write_export`, exactly what ``emotrack analyze`` and ``emotrack export``
run, so a batch's project equals the one ``analyze`` writes with the same settings. A
line that fails becomes a record with its one-line error; the worker carries on.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..core.batch_report import line_stats
from ..core.project_file import project_from_dict, project_to_dict, save_project
from ..core.settings import AnalysisSettings, HeuristicSettings, settings_to_dict
from ..errors import EmotrackError, first_line


@dataclass(frozen=True)
class BatchSettings:
    """Everything a worker needs besides the line itself (picklable)."""

    model: str | None = None  # bundled name or folder; None = the default model
    device: str = "auto"
    analysis: AnalysisSettings = AnalysisSettings()
    heuristics: HeuristicSettings = HeuristicSettings()
    fps: int = 30
    exports: tuple[str, ...] = ()
    quality: bool = False
    quality_threshold: float | None = None
    actor: dict | None = None  # an actor reference's JSON (core/actor_reference.py): every line is this actor
    actors: dict[str, dict] | None = None  # character name -> actor reference JSON, for manifest lines
    torch_threads: int | None = None  # per worker; None leaves torch's default

    def as_dict(self) -> dict[str, Any]:
        """The settings that shape the outputs (part of every line's fingerprint)."""
        return {"analysis": settings_to_dict(self.analysis), "heuristics": settings_to_dict(self.heuristics),
                "fps": self.fps, "exports": sorted(self.exports), "quality": self.quality,
                "quality_threshold": self.quality_threshold}  # each line's actor reference: runner


@dataclass(frozen=True)
class LineJob:
    name: str
    audio: str
    project: str  # the .emotrack path to write
    outputs: dict[str, str]  # export kind -> path
    character: str = ""
    prior: str | None = None
    prior_strength: float | None = None
    fingerprint: str = ""


def line_actor(settings: BatchSettings, character: str) -> dict | None:
    """The actor reference a line is read against: its character's, else the batch's."""
    return (settings.actors or {}).get(character, settings.actor)


def line_heuristics(base: HeuristicSettings, prior: str | None, strength: float | None) -> HeuristicSettings:
    """The batch's heuristics with a manifest line's own prior emotion, if it has one."""
    if prior is None:
        return base
    return replace(base, prior_enabled=True, prior_emotion=prior,
                   prior_strength=0.5 if strength is None else strength)


class LineWorker:
    def __init__(self, settings: BatchSettings) -> None:
        from ..pipeline import load_emotion_model, load_quality_estimator

        if settings.torch_threads:
            import torch

            torch.set_num_threads(settings.torch_threads)
        self.settings = settings
        self.model = load_emotion_model(settings.model, settings.device)
        self.quality = load_quality_estimator(device=settings.device) if settings.quality else None
        self._animator = None
        self.pid = os.getpid()

    def _actor(self, character: str):
        """The line's actor reference (``line_actor``), parsed; the CLI checked it already."""
        from ..core.actor_reference import ActorReference

        data = line_actor(self.settings, character)
        return None if data is None else ActorReference.from_json(data, f"the actor reference of {character!r}")

    def animator(self):
        if self._animator is None:
            from ..pipeline import load_face_animator

            self._animator = load_face_animator(device=self.settings.device)
        return self._animator

    def run(self, job: LineJob) -> dict[str, Any]:
        """The ledger record of ``job``: status "ok" with its statistics, or "failed"
        with the error; never raises for a bad line."""
        began, cpu_began = time.perf_counter(), time.process_time()
        record: dict[str, Any] = {"name": job.name, "audio": job.audio, "character": job.character,
                                  "fingerprint": job.fingerprint, "worker": self.pid}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                stats = self._analyse_and_export(job)
            record.update(status="ok", **stats, outputs=[job.project, *job.outputs.values()])
            if caught:
                record["warnings"] = sorted({str(w.message) for w in caught})[:5]
        except EmotrackError as error:
            record.update(status="failed", error=str(error))
        except Exception as error:  # noqa: BLE001 - one bad line must not stop the batch
            record.update(status="failed", error=f"internal error ({type(error).__name__}: {first_line(error)})")
        record["seconds"] = round(time.perf_counter() - began, 3)
        # What the line cost the worker (the benchmark sums these per worker).
        record["cpu_seconds"] = round(time.process_time() - cpu_began, 3)
        record["rss_mib"] = _resident_mib()
        return record

    def _analyse_and_export(self, job: LineJob) -> dict[str, Any]:
        from ..pipeline import analyze_file, write_export

        s = self.settings
        project = analyze_file(job.audio, self.model, s.analysis,
                               line_heuristics(s.heuristics, job.prior, job.prior_strength),
                               model_dir=s.model, quality=self.quality, quality_threshold=s.quality_threshold,
                               actor=self._actor(job.character))
        project.fps = s.fps
        # Export what the saved project holds (values rounded as in the file), so each
        # export equals what `emotrack export` makes of the .emotrack; the project last.
        path = Path(job.project)
        saved = project_from_dict(project_to_dict(project, relative_to=path.parent), base_dir=path.parent)
        for kind, output in job.outputs.items():
            write_export(kind, saved, output, s.fps, animator=self.animator)
        save_project(project, path)
        return line_stats(saved)


def _resident_mib() -> float | None:
    """This process's resident memory now (Linux), or its peak elsewhere."""
    try:
        with open("/proc/self/statm") as handle:
            return round(int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError):
        try:
            import resource

            return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        except (ImportError, OSError):
            return None
