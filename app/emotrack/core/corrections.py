"""Training targets from an animator's corrections: which windows each locked key labels.

A locked keyframe is the animator's word on the emotion of the audio it summarises:
either a key they edited (``source == "edited"``) or an inferred key they locked to
confirm it. Both are used; keys that are not locked are the network's own guess (or an
edit the animator gave up on: heuristics may have rewritten its values) and are not.

Which audio a key summarises follows how :mod:`.analysis` made the keys:

- fixed keys: the keyframe frame (``keyframe_interval`` seconds on the grid from 0)
  whose anchor point is nearest to the key, so a key nudged by a frame or two keeps
  its frame;
- adaptive keys: the stretch between the key's neighbours in the track, cut per the
  anchor (a "start" key runs to the next key, an "end" key from the previous one, a
  "middle" key between the midpoints to its neighbours).

Every analysis window (``window``/``hop`` of the project's settings, as the network saw
them) whose centre falls in that span gets the key's ``values`` as a soft target. A
window claimed by two keys goes to the one nearer in time. As in analysis, windows with
too little speech are left out (the network is never asked about silence), and a key
whose span holds no window centre takes the window centred nearest to the span's middle.

Pure numpy: no torch, no Qt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .analysis import WindowProbabilities, voiced_windows
from .document import Project
from .keyframes import Keyframe
from .settings import SAMPLE_RATE, AnalysisSettings
from .windowing import anchor_time, frame_starts, window_centres, window_starts

# Written beside a model learned from corrections: the figures and the base model.
REPORT_FILE = "corrections.json"


@dataclass(frozen=True, eq=False)
class CorrectedKey:
    """One locked key and the analysis windows it labels."""

    time: float  # seconds
    start: float  # the span of audio it summarises, seconds
    end: float
    values: np.ndarray  # the key's vector over the project's labels (sums to 1)
    edited: bool  # the animator changed it (else: locked as inferred, a confirmation)
    windows: np.ndarray  # indices into CorrectionTargets.starts, voiced windows only

    @property
    def label(self) -> int:
        """Index (project labels) of the key's strongest emotion."""
        return int(np.argmax(self.values))


@dataclass(frozen=True, eq=False)
class CorrectionTargets:
    """A project's corrected keys over the windows of its clip."""

    labels: tuple[str, ...]  # the project's labels (columns of every values vector)
    starts: np.ndarray  # start sample of every analysis window of the clip
    window: int
    hop: int
    n_samples: int
    sample_rate: int
    keys: tuple[CorrectedKey, ...]  # in time order; only keys with voiced windows
    silent_keys: int  # locked keys left out: no speech in their span

    def window_targets(self, keys: tuple[CorrectedKey, ...] | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(window indices, soft targets [n, labels], key index of each window)`` for
        ``keys`` (default all; key index is the position in that sequence)."""
        keys = self.keys if keys is None else keys
        if not keys:
            return (np.zeros(0, np.int64), np.zeros((0, len(self.labels))), np.zeros(0, np.int64))
        index = np.concatenate([key.windows for key in keys])
        targets = np.concatenate([np.tile(key.values, (len(key.windows), 1)) for key in keys])
        owner = np.concatenate([np.full(len(key.windows), k) for k, key in enumerate(keys)])
        return index, targets, owner


def corrected_keys(project: Project) -> list[Keyframe]:
    """The project's locked keys (the animator's labels), in time order."""
    return [key for key in project.keyframes if key.locked]


def key_spans(track: tuple[Keyframe, ...] | list[Keyframe], analysis: AnalysisSettings,
              duration: float) -> list[tuple[float, float]]:
    """The span of audio (seconds) each key of a time-sorted ``track`` summarises."""
    times = np.array([key.time for key in track], dtype=np.float64)
    if times.size == 0:
        return []
    if not analysis.adaptive:
        return _grid_spans(times, analysis, duration)
    return _neighbour_spans(times, analysis.anchor, duration)


def _grid_spans(times: np.ndarray, analysis: AnalysisSettings, duration: float) -> list[tuple[float, float]]:
    """The keyframe frame whose anchor is nearest to each key (as ``fixed_keyframes``)."""
    n_samples = max(1, int(round(duration * SAMPLE_RATE)))
    frame = analysis.frame_samples
    starts = frame_starts(n_samples, frame)
    ends = np.minimum(starts + frame, n_samples)
    anchors = anchor_time(starts, ends, analysis.anchor) / SAMPLE_RATE
    nearest = np.abs(times[:, None] - anchors[None, :]).argmin(axis=1)
    return [(starts[i] / SAMPLE_RATE, ends[i] / SAMPLE_RATE) for i in nearest]


def _neighbour_spans(times: np.ndarray, anchor: str, duration: float) -> list[tuple[float, float]]:
    """Stretches between neighbouring keys (as ``adaptive_keyframes`` places them)."""
    end_of_clip = max(duration, float(times[-1]))
    previous = np.concatenate([[0.0], times[:-1]])
    following = np.concatenate([times[1:], [end_of_clip]])
    if anchor == "start":
        begin, end = times, following
    elif anchor == "end":
        begin, end = previous, times
    else:
        begin = np.concatenate([[0.0], (times[:-1] + times[1:]) / 2])
        end = np.concatenate([(times[:-1] + times[1:]) / 2, [end_of_clip]])
    return [(float(a), float(b)) for a, b in zip(begin, end)]


def correction_targets(project: Project, n_samples: int | None = None,
                       sample_rate: int = SAMPLE_RATE) -> CorrectionTargets:
    """The locked keys of ``project`` with the analysis windows each one labels.

    ``n_samples`` is the clip's length at ``sample_rate`` (default: from the project's
    stored windows, else its duration). Windows follow the project's analysis settings.
    """
    analysis = project.analysis
    if n_samples is None:
        n_samples = (project.windows.n_samples if project.windows is not None
                     else int(round(project.duration * sample_rate)))
    starts = window_starts(n_samples, analysis.window, analysis.hop)
    centres = window_centres(starts, analysis.window, n_samples) / sample_rate
    frame = WindowProbabilities(starts=starts, window=analysis.window, hop=analysis.hop,
                                probabilities=np.zeros((len(starts), 1)), n_samples=n_samples,
                                sample_rate=sample_rate)
    voiced = voiced_windows(frame, project.voice)

    track = project.keyframes
    spans = key_spans(track, analysis, n_samples / sample_rate)
    locked = [i for i, key in enumerate(track) if key.locked]
    # Each window goes to the nearest-in-time locked key whose span holds its centre.
    owner = np.full(len(starts), -1)
    distance = np.full(len(starts), np.inf)
    for i in locked:
        start, end = spans[i]
        inside = np.flatnonzero((centres >= start) & (centres < end))
        if inside.size == 0 and len(centres):
            inside = np.array([int(np.argmin(np.abs(centres - (start + end) / 2)))])
        gap = np.abs(centres[inside] - track[i].time)
        closer = gap < distance[inside]
        owner[inside[closer]] = i
        distance[inside[closer]] = gap[closer]

    keys, silent = [], 0
    for i in locked:
        windows = np.flatnonzero((owner == i) & voiced)
        key = track[i]
        if windows.size == 0:
            silent += 1
            continue
        values = np.asarray(key.values, dtype=np.float64)
        total = values.sum()
        values = values / total if total > 0 else values
        keys.append(CorrectedKey(time=key.time, start=spans[i][0], end=spans[i][1], values=values,
                                 edited=key.source == "edited", windows=windows))
    return CorrectionTargets(labels=project.labels, starts=starts, window=analysis.window,
                             hop=analysis.hop, n_samples=n_samples, sample_rate=sample_rate,
                             keys=tuple(keys), silent_keys=silent)


@dataclass(frozen=True)
class HeldOutSplit:
    """Which keys train and which measure accuracy, and how they were chosen."""

    train: list[tuple[int, tuple[CorrectedKey, ...]]]  # (project index, its keys)
    held_out: list[tuple[int, tuple[CorrectedKey, ...]]]
    description: str
    # Single project: windows reaching past this sample belong to the held-out stretch.
    train_end_sample: int | None = None


def split_held_out(targets: list[CorrectionTargets], share: float = 0.25) -> HeldOutSplit:
    """Hold out whole projects when there are two or more (the last ``share`` of them,
    at least one), otherwise the last ``share`` of the one project's keys in time order
    (at least one). Training windows that overlap the held-out stretch of a single
    project are dropped (``train_end_sample``), so no held-out audio is trained on.

    Raises ValueError when there is too little to split (one project with one key).
    """
    with_keys = [i for i, t in enumerate(targets) if t.keys]
    if len(with_keys) >= 2:
        n_held = min(len(with_keys) - 1, max(1, int(round(share * len(with_keys)))))
        held = with_keys[-n_held:]
        train = [(i, targets[i].keys) for i in with_keys if i not in held]
        held_out = [(i, targets[i].keys) for i in held]
        return HeldOutSplit(train, held_out,
                            f"held out {n_held} whole project(s) of {len(with_keys)}")
    if not with_keys:
        raise ValueError("no locked keys over speech")
    index = with_keys[0]
    keys = targets[index].keys
    if len(keys) < 2:
        raise ValueError("only one locked key over speech: at least two are needed, "
                         "one to learn from and one to measure accuracy on")
    n_held = min(len(keys) - 1, max(1, int(round(share * len(keys)))))
    boundary = int(round(keys[-n_held].start * targets[index].sample_rate))
    return HeldOutSplit([(index, keys[:-n_held])], [(index, keys[-n_held:])],
                        f"held out the last {n_held} of {len(keys)} corrected keys in time order",
                        train_end_sample=boundary)


def read_learning_report(model: str | Path | None) -> dict | None:
    """The ``corrections.json`` of a model folder or bundled name (None when the model
    was not learned from corrections); its ``base_model`` is the model to revert to."""
    from ..resources import emotion_model_dir

    if not model:
        return None
    try:
        report = json.loads((emotion_model_dir(model) / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None
