"""Emotion analysis off the GUI thread, with progress and cancel.

``AnalysisWorker`` is a ``QThread``: it loads the model (once per model directory, cached
on the worker class) and runs :func:`emotrack.pipeline.run_analysis`; results come back
through queued signals, so the window never freezes. Cancel sets a flag that
``run_analysis`` polls between batches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QThread, Signal

from emotrack.core.commands import KEEP_MODEL
from emotrack.core.settings import AnalysisSettings

_model_cache: dict[str, Any] = {}
# Re-entrant: the face's loader holds it around its own imports and the encoder model's
# load. transformers' lazy module is not safe to import from two threads at once.
model_lock = threading.RLock()


def cached_model(model_dir: str | None):
    from emotrack.pipeline import load_emotion_model  # torch loads here

    from emotrack.resources import checkpoint_dir, emotion_model_dir, is_heads_folder

    # By folder, so "accurate", None (the default) and the folder's path share one model:
    # the face preview then listens with the very encoder (and encoded chunks) of the analysis.
    folder = emotion_model_dir(model_dir)
    key = str(folder)
    with model_lock:
        if key not in _model_cache:
            if is_heads_folder(folder):
                # Another reading of a checkpoint (the fast model): a view of the checkpoint's
                # model, so that it, the accurate model and the face share one encoder.
                _model_cache[key] = cached_model(str(checkpoint_dir(folder))).with_heads(folder)
            else:
                _model_cache[key] = load_emotion_model(model_dir)
        return _model_cache[key]


class CancellableWorker(QThread):
    """A worker thread the GUI can ask to stop; ``run`` polls ``is_cancelled``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def deliver(self, work: Callable[[], tuple], cancelled: type[BaseException], failure: str, crash: str) -> None:
        """Run ``work`` here (the worker thread) and report how it ended through the
        subclass's signals: ``succeeded(*result)``, ``cancelled()`` when it raised
        ``cancelled``, ``failed(failure + error)`` for an Emotrack error, and
        ``failed(crash: Type: error)`` for anything else (a crash must reach the user)."""
        from emotrack.errors import EmotrackError

        try:
            result = work()
        except cancelled:
            self.cancelled.emit()
        except EmotrackError as error:
            self.failed.emit(f"{failure}{error}")
        except Exception as error:  # noqa: BLE001
            self.failed.emit(f"{crash}: {type(error).__name__}: {error}")
        else:
            self.succeeded.emit(*result)


class AnalysisWorker(CancellableWorker):
    progress = Signal(int, int)  # done, total windows
    succeeded = Signal(object, object)  # WindowProbabilities, AnalysisSettings
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, clip, settings: AnalysisSettings, model_dir: str | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.clip = clip
        self.settings = settings
        self.model_dir = model_dir
        self.enhance = False  # run the speech enhancer over the clip first
        self.enhancement_model_dir: str | None = None  # None = bundled
        # The undo step the result becomes, and the model the project switches to with
        # it (KEEP_MODEL: none; see commands.apply_analysis).
        self.command_text = "Analyse clip"
        self.new_model = KEEP_MODEL
        # The actor reference to read the voice against, and the one the project switches
        # to (KEEP_MODEL: none). A reference the model cannot use (a model without an
        # actor head) is dropped, analysed without, and the reason kept for the user.
        self.actor = None
        self.new_actor = KEEP_MODEL
        self.actor_dropped = ""

    def run(self) -> None:  # worker thread
        from emotrack.pipeline import AnalysisCancelled

        self.deliver(self._analyse, AnalysisCancelled, "", "analysis failed")

    def _analyse(self) -> tuple:
        from emotrack.errors import EmotrackError
        from emotrack.pipeline import AnalysisCancelled, run_analysis

        if self.enhance:
            self.clip = enhanced_clip(self.clip, self.enhancement_model_dir)
        model = cached_model(self.model_dir)
        if self.is_cancelled:
            raise AnalysisCancelled("analysis cancelled")
        if self.actor is not None:
            try:
                model = model.with_actor(self.actor)
            except EmotrackError as error:
                self.actor_dropped, self.new_actor = str(error), None
        windows = run_analysis(self.clip, self.settings, model,
                               progress=lambda done, total: self.progress.emit(done, total),
                               is_cancelled=lambda: self.is_cancelled)
        return windows, self.settings


class OpenWorker(QThread):
    """Decode an audio file or a project (+ its audio) and build the waveform envelope off
    the GUI thread: an hour of audio takes seconds to decode and scan for voice."""

    succeeded = Signal(object, object, object, str)  # project, clip|None, envelope|None, warning
    failed = Signal(str)

    def __init__(self, path, kind: str, model_dir: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.path = path
        self.kind = kind  # "audio" or "project"
        self.model_dir = model_dir

    def run(self) -> None:  # worker thread
        from emotrack.core.project_file import load_project
        from emotrack.errors import EmotrackError
        from emotrack.io.audio import load_audio
        from emotrack.pipeline import new_project

        from .timeline import WaveformEnvelope

        warning = ""
        try:
            if self.kind == "project":
                project = load_project(self.path)
                clip = None
                if project.audio is not None and project.audio.path:
                    try:
                        clip = load_audio(project.audio.path)
                    except EmotrackError as error:
                        warning = (f"The project's audio cannot be read ({error}); curves are shown "
                                   "without waveform or playback.")
                envelope = (WaveformEnvelope(clip.samples, clip.sample_rate)
                            if clip is not None else None)
            else:
                clip = load_audio(self.path)
                # The envelope's min/max and new_project's voice scan and file hash are
                # numpy/hashlib work that releases the GIL: overlapping them takes an
                # hour-long file from ~0.65 to ~0.48 s on two idle cores.
                with ThreadPoolExecutor(max_workers=1) as pool:
                    envelope_job = pool.submit(WaveformEnvelope, clip.samples, clip.sample_rate)
                    project = new_project(clip, model_dir=self.model_dir)
                    envelope = envelope_job.result()
        except EmotrackError as error:
            self.failed.emit(f"Cannot open {self.path.name}: {error}")
        except Exception as error:  # noqa: BLE001 - must reach the user, not kill the thread
            self.failed.emit(f"Cannot open {self.path.name}: {type(error).__name__}: {error}")
        else:
            self.succeeded.emit(project, clip, envelope, warning)


# --- speech quality --------------------------------------------------------------------
_quality_cache: dict[str, Any] = {}


def quality_model_available(model_dir) -> bool:
    """Cheap check (no torch import) that a quality model directory looks complete."""
    from pathlib import Path

    if model_dir is None:
        from emotrack.resources import resource_path

        model_dir = resource_path("models", "quality")
    model_dir = Path(model_dir)
    return (model_dir / "config.json").is_file() and (model_dir / "model.safetensors").is_file()


def cached_quality_estimator(model_dir: str | None):
    from emotrack.pipeline import load_quality_estimator  # torch loads here

    key = str(model_dir or "")
    with model_lock:
        if key not in _quality_cache:
            _quality_cache[key] = load_quality_estimator(model_dir)
        return _quality_cache[key]


class QualityWorker(QThread):
    """VQScore of one clip off the GUI thread (``threshold`` None = the model's)."""

    succeeded = Signal(object)  # QualityTrack
    failed = Signal(str)

    def __init__(self, clip, model_dir: str | None = None, threshold: float | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.clip = clip
        self.model_dir = model_dir
        self.threshold = threshold
        self.project = None  # the document it was started for (set by the window)

    def run(self) -> None:  # worker thread
        from emotrack.errors import EmotrackError
        from emotrack.pipeline import score_quality

        try:
            track = score_quality(self.clip, cached_quality_estimator(self.model_dir), self.threshold)
        except EmotrackError as error:
            self.failed.emit(str(error))
        except Exception as error:  # noqa: BLE001 - must reach the user
            self.failed.emit(f"quality scoring failed: {type(error).__name__}: {error}")
        else:
            self.succeeded.emit(track)


# --- speech enhancement before analysis ----------------------------------------------------
_enhancer_cache: dict[str, Any] = {}


def enhancement_model_available(model_dir) -> bool:
    from pathlib import Path

    if model_dir is None:
        from emotrack.resources import resource_path

        model_dir = resource_path("models", "enhancement")
    model_dir = Path(model_dir)
    return (model_dir / "config.json").is_file() and (model_dir / "model.safetensors").is_file()


def enhanced_clip(clip, model_dir: str | None):
    """``clip`` with its samples run through the speech enhancer (torch loads here)."""
    import dataclasses

    from emotrack.ml.quality.enhancement import SpeechEnhancer

    key = str(model_dir or "")
    with model_lock:
        if key not in _enhancer_cache:
            _enhancer_cache[key] = SpeechEnhancer.from_pretrained(model_dir)
        enhancer = _enhancer_cache[key]
    return dataclasses.replace(clip, samples=enhancer.enhance(clip.samples))


class ExportWorker(QThread):
    """Runs one export (``write()``) off the GUI thread: an hour of curves at 60 fps takes
    a second or more to format. ``error`` holds the message when it failed."""

    def __init__(self, write: Callable[[], object], parent=None) -> None:
        super().__init__(parent)
        self.write = write
        self.error = ""

    def run(self) -> None:  # worker thread
        from emotrack.errors import EmotrackError

        try:
            self.write()
        except (EmotrackError, OSError) as error:
            self.error = str(error)
        except Exception as error:  # noqa: BLE001 - must reach the user, not kill the thread
            self.error = f"{type(error).__name__}: {error}"
