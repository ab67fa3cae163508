"""The project document: one clip, its analysis, settings and keyframe track.

Plain Python + numpy with psygnal events, in the spirit of napari's evented
components: views connect to ``project.events.<field>`` and never poke at state
directly; every user edit goes through a :mod:`emotrack.core.commands` command so it
can be undone. Setters here are the primitive, non-undoable changes those commands use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
from psygnal import Signal, SignalGroup

from . import heuristics
from .actor_reference import ActorReference
from .analysis import KeySpec, WindowProbabilities, propose_keyframes
from .emotions import EMOTIONS, readout
from .face_controls import FaceControls
from .keyframes import IdAllocator, Keyframe, sample_curves, sorted_track
from .audio_diagnosis import KINDS
from .quality_regions import flag_regions, overlaps_flagged
from .settings import AnalysisSettings, HeuristicSettings
from .vad import VoiceActivity

FRAME_RATES: tuple[int, ...] = (24, 25, 30, 50, 60)


@dataclass(frozen=True)
class AudioInfo:
    """What the project remembers about its audio file."""

    path: str
    sha256: str
    duration: float  # seconds
    original_rate: int
    channels: int


@dataclass(frozen=True, eq=False)
class QualityTrack:
    """Speech quality over the clip: one VQScore frame score every ``hop_seconds``
    (frame i centred at i * hop_seconds) and the clip's mean score. Audio whose smoothed
    score falls below ``threshold`` is flagged (see ``quality_regions.flag_regions``).
    ``problems`` name what is wrong and where (``audio_diagnosis.Problem``).
    ``estimated_pesq`` (PESQ-wb scale, 1.04-4.64) and ``estimated_stoi`` (0-1) are the
    supervised estimator's figures for the whole clip, None where it was not run."""

    frame_scores: np.ndarray
    hop_seconds: float
    vqscore: float
    threshold: float
    problems: tuple = ()
    estimated_pesq: float | None = None
    estimated_stoi: float | None = None

    @property
    def problem_counts(self) -> dict[str, int]:
        """How many regions of each kind, in ``audio_diagnosis.KINDS`` order."""
        counts: dict[str, int] = {}
        for kind in KINDS:
            found = sum(problem.kind == kind for problem in self.problems)
            if found:
                counts[kind] = found
        return counts

    @property
    def frame_times(self) -> np.ndarray:
        return np.arange(len(self.frame_scores)) * self.hop_seconds

    @cached_property
    def regions(self) -> list[list[float]]:
        return flag_regions(self.frame_scores, self.frame_times, self.threshold)

    @property
    def flagged_seconds(self) -> float:
        return float(sum(end - start for start, end in self.regions))


class ProjectEvents(SignalGroup):
    audio = Signal(object)
    keyframes = Signal(object)  # the new track (tuple of Keyframe)
    heuristics = Signal(object)
    face_controls = Signal(object)
    analysis = Signal(object)
    windows = Signal(object)
    quality = Signal(object)
    fps = Signal(int)


class Project:
    """An Emotrack document. ``labels`` are the curve names: the six emotions, then any
    extra labels of a foreign checkpoint."""

    def __init__(
        self,
        audio: AudioInfo | None = None,
        labels: Sequence[str] = EMOTIONS,
        analysis: AnalysisSettings | None = None,
        heuristic_settings: HeuristicSettings | None = None,
        fps: int = 30,
        model: str | None = None,
        face_controls: FaceControls | None = None,
    ) -> None:
        if tuple(labels[: len(EMOTIONS)]) != EMOTIONS:
            raise ValueError(f"labels must start with {EMOTIONS}, got {tuple(labels)}")
        self.events = ProjectEvents()
        self._audio = audio
        self.labels: tuple[str, ...] = tuple(labels)
        self._analysis = analysis or AnalysisSettings()
        self._heuristics = heuristic_settings or HeuristicSettings()
        self._face_controls = face_controls or FaceControls()
        self._fps = fps
        self.model = model  # model directory used for inference; None = bundled
        # The actor reference the analysis read the voice against (None: the plain head).
        self.actor: ActorReference | None = None
        self._windows: WindowProbabilities | None = None
        self.voice: VoiceActivity | None = None
        self._quality: QualityTrack | None = None
        self._keyframes: tuple[Keyframe, ...] = ()
        self.new_id = IdAllocator()
        self.path: Path | None = None  # where the project was last saved/loaded

    # --- fields -------------------------------------------------------------------
    @property
    def audio(self) -> AudioInfo | None:
        return self._audio

    @audio.setter
    def audio(self, value: AudioInfo | None) -> None:
        self._audio = value
        self.events.audio.emit(value)

    @property
    def keyframes(self) -> tuple[Keyframe, ...]:
        return self._keyframes

    @keyframes.setter
    def keyframes(self, track: Iterable[Keyframe]) -> None:
        track = tuple(track)
        if track:
            ids = [key.id for key in track]
            if min(ids) < 0:
                raise ValueError("keyframes must get an id from project.new_id before use")
            self.new_id.see(max(ids))
        self._keyframes = sorted_track(track)
        self.events.keyframes.emit(self._keyframes)

    @property
    def heuristics(self) -> HeuristicSettings:
        return self._heuristics

    @heuristics.setter
    def heuristics(self, value: HeuristicSettings) -> None:
        self._heuristics = value
        self.events.heuristics.emit(value)

    @property
    def face_controls(self) -> FaceControls:
        """How the face exports and the preview treat the face network's output."""
        return self._face_controls

    @face_controls.setter
    def face_controls(self, value: FaceControls) -> None:
        self._face_controls = value
        self.events.face_controls.emit(value)

    @property
    def analysis(self) -> AnalysisSettings:
        return self._analysis

    @analysis.setter
    def analysis(self, value: AnalysisSettings) -> None:
        self._analysis = value
        self.events.analysis.emit(value)

    @property
    def windows(self) -> WindowProbabilities | None:
        return self._windows

    @windows.setter
    def windows(self, value: WindowProbabilities | None) -> None:
        self._windows = value
        self.events.windows.emit(value)

    @property
    def quality(self) -> QualityTrack | None:
        return self._quality

    @quality.setter
    def quality(self, value: QualityTrack | None) -> None:
        self._quality = value
        self.events.quality.emit(value)

    @property
    def fps(self) -> int:
        return self._fps

    @fps.setter
    def fps(self, value: int) -> None:
        if value not in FRAME_RATES:
            raise ValueError(f"fps must be one of {FRAME_RATES}, got {value}")
        self._fps = value
        self.events.fps.emit(value)

    @property
    def duration(self) -> float:
        return self._audio.duration if self._audio else 0.0

    # --- derived ------------------------------------------------------------------
    def key_by_id(self, key_id: int) -> Keyframe:
        for key in self._keyframes:
            if key.id == key_id:
                return key
        raise KeyError(f"no keyframe with id {key_id}")

    def curves_at(self, times: np.ndarray) -> np.ndarray:
        return sample_curves(self._keyframes, times, len(self.labels))

    def readout_at(self, time: float) -> str:
        if not self._keyframes:
            return "No keyframes"
        return readout(self.curves_at(np.array([time]))[0], self.labels)

    # --- building tracks (pure: return new tracks, do not assign) -------------------
    def blend(
        self, track: Sequence[Keyframe], settings: HeuristicSettings | None = None
    ) -> tuple[Keyframe, ...]:
        """Re-apply heuristics to every unlocked inferred key of ``track``.

        Locked keys take part as neighbours (for smoothing) with their edited values
        but are never rewritten.
        """
        settings = settings or self._heuristics
        track = sorted_track(track)
        if not track:
            return track
        raw = np.array([k.inferred if (k.inferred is not None and not k.locked) else k.values
                        for k in track])
        blended = heuristics.apply(raw, settings).tolist()
        return tuple(
            key if key.locked or key.inferred is None else key.with_values(tuple(row))
            for key, row in zip(track, blended)
        )

    def keys_from_specs(self, specs: Sequence[KeySpec]) -> list[Keyframe]:
        return [
            Keyframe(time=s.time, values=tuple(s.vector), inferred=tuple(s.vector), id=self.new_id())
            for s in specs
        ]

    def rekeyed(
        self,
        windows: WindowProbabilities,
        analysis: AnalysisSettings,
        heuristic_settings: HeuristicSettings | None = None,
    ) -> tuple[Keyframe, ...]:
        """A fresh inferred track for ``windows`` that keeps every locked key.

        Inferred keys closer than half a keyframe interval to a locked key are dropped,
        so re-analysis never stacks a new key on top of the user's.
        """
        locked = [k for k in self._keyframes if k.locked]
        specs = propose_keyframes(windows, analysis, self.voice)
        locked_times = np.array([k.time for k in locked])
        min_gap = analysis.keyframe_interval / 2
        fresh = [
            key for key in self.keys_from_specs(specs)
            if locked_times.size == 0 or np.min(np.abs(locked_times - key.time)) >= min_gap
        ]
        return self.marked(self.blend(locked + fresh, heuristic_settings), analysis)

    def marked(
        self, track: Sequence[Keyframe], analysis: AnalysisSettings | None = None,
        quality: QualityTrack | None = None,
    ) -> tuple[Keyframe, ...]:
        """``track`` with ``low_confidence`` set on inferred keys whose span (the
        keyframe interval around the key, per its anchor) overlaps flagged audio."""
        analysis = analysis or self._analysis
        quality = quality if quality is not None else self._quality
        regions = quality.regions if quality is not None else []
        width = analysis.keyframe_interval
        before = {"start": 0.0, "middle": width / 2, "end": width}[analysis.anchor]

        def low(key: Keyframe) -> bool:
            start = max(0.0, key.time - before)
            return key.source == "inferred" and overlaps_flagged(start, start + width, regions)

        return tuple(
            key if key.low_confidence == low(key) else replace(key, low_confidence=low(key))
            for key in track
        )
