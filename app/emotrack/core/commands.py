"""Undoable edits of a :class:`Project`.

Every command is a set of (field, before, after) changes on the project; redo assigns
the afters, undo the befores. Because keyframes and settings are immutable, a command
holds whole tracks by reference and undo restores the exact previous state. The GUI
wraps these in ``QUndoCommand``; the CLI and tests call ``redo``/``undo`` directly.

Builders (``move_keyframes``, ``set_emotion_value`` ...) read the project's current
state and return a command without applying it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import ParameterError
from .actor_reference import ActorReference
from .analysis import WindowProbabilities
from .document import FRAME_RATES, Project, QualityTrack
from .face_controls import FaceControls
from .heuristics import NEUTRAL
from .keyframes import Keyframe
from .settings import AnalysisSettings, HeuristicSettings

# Assigned last to first: settings (and the model) before the keyframes they produced.
_FIELDS = ("keyframes", "heuristics", "face_controls", "analysis", "windows", "quality", "fps", "model", "actor")
# apply_analysis(model=KEEP_MODEL): the analysis does not change the project's model
# (nor, as actor=KEEP_MODEL, its actor reference).
KEEP_MODEL = object()


@dataclass
class Command:
    """A named change of project fields. ``merge_key``: consecutive commands with the
    same key (e.g. one slider drag) collapse into one undo step."""

    text: str
    before: dict[str, Any]
    after: dict[str, Any]
    merge_key: str | None = None

    def redo(self, project: Project) -> None:
        self._assign(project, self.after)

    def undo(self, project: Project) -> None:
        self._assign(project, self.before)

    @staticmethod
    def _assign(project: Project, values: dict[str, Any]) -> None:
        # Settings before keyframes: views redrawing on the keyframe event then see
        # the settings that produced them.
        for name in _FIELDS[::-1]:
            if name in values:
                setattr(project, name, values[name])

    def merge(self, newer: "Command") -> bool:
        """Absorb ``newer`` (same merge_key, same fields); True when merged."""
        if self.merge_key is None or newer.merge_key != self.merge_key:
            return False
        if set(newer.after) != set(self.after):
            return False
        self.after = dict(newer.after)
        return True


def _edit(project: Project, text: str, merge_key: str | None = None, **after: Any) -> Command:
    before = {name: getattr(project, name) for name in after}
    return Command(text, before, after, merge_key)


def _snap(time: float, fps: int | None) -> float:
    return round(time * fps) / fps if fps else time


def _clamp_time(project: Project, time: float) -> float:
    upper = project.duration if project.duration > 0 else max(time, 0.0)
    return float(min(max(time, 0.0), upper))


def _replace_keys(project: Project, changed: dict[int, Keyframe]) -> tuple[Keyframe, ...]:
    return tuple(changed.get(k.id, k) for k in project.keyframes)


def move_keyframes(
    project: Project, ids: Collection[int], delta: float, snap_fps: int | None = None,
    merge_key: str | None = None,
) -> Command:
    """Shift keys in time by ``delta`` seconds, clamped to the clip, snapped to frames."""
    moved = {
        k.id: replace(k, time=_snap(_clamp_time(project, k.time + delta), snap_fps))
        for k in project.keyframes if k.id in ids
    }
    n = len(moved)
    return _edit(project, f"Move {n} keyframe{'s' * (n != 1)}", merge_key,
                 keyframes=_replace_keys(project, moved))


def set_keyframe_time(project: Project, key_id: int, time: float,
                      snap_fps: int | None = None, merge_key: str | None = None) -> Command:
    key = project.key_by_id(key_id)
    return move_keyframes(project, [key_id], time - key.time, snap_fps, merge_key)


def set_keyframe_values(project: Project, key_id: int, values: Sequence[float],
                        merge_key: str | None = None) -> Command:
    """Set a key's vector (normalised to sum 1); the key becomes edited and locked."""
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (len(project.labels),) or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ParameterError(f"need {len(project.labels)} finite values >= 0, got {values!r}")
    total = v.sum()
    if total <= 0:
        raise ParameterError("at least one emotion must be above 0")
    key = project.key_by_id(key_id)
    return _edit(project, "Edit keyframe", merge_key,
                 keyframes=_replace_keys(project, {key_id: key.edited(v / total)}))


def redistribute(values: Sequence[float], index: int, value: float) -> np.ndarray:
    """Set component ``index`` to ``value`` (0..1) and rescale the others to fill the rest
    in their current proportions; if they are all 0, the rest goes to neutral (or, when
    neutral is the one being set, is shared equally)."""
    if not 0.0 <= value <= 1.0:
        raise ParameterError(f"emotion value must be between 0 and 1, got {value}")
    v = np.asarray(values, dtype=np.float64).copy()
    others = np.arange(len(v)) != index
    rest = v[others].sum()
    if rest > 0:
        v[others] *= (1.0 - value) / rest
    else:
        if index != NEUTRAL:
            v[NEUTRAL] = 1.0 - value
        else:
            v[others] = (1.0 - value) / others.sum()
    v[index] = value
    return v


def set_emotion_value(project: Project, key_id: int, index: int, value: float,
                      merge_key: str | None = None) -> Command:
    key = project.key_by_id(key_id)
    command = set_keyframe_values(project, key_id, redistribute(key.values, index, value), merge_key)
    command.text = f"Set {project.labels[index]} to {value:.0%}"
    return command


def add_keyframe(project: Project, time: float, snap_fps: int | None = None) -> tuple[Command, int]:
    """A new edited, locked key at ``time`` holding the curve values there."""
    time = _snap(_clamp_time(project, time), snap_fps)
    values = project.curves_at(np.array([time]))[0]
    if values.sum() <= 0:
        values = np.zeros(len(project.labels))
        values[project.labels.index("neutral")] = 1.0
    key = Keyframe(time=time, values=tuple(values / values.sum()), locked=True,
                   source="edited", id=project.new_id())
    return _edit(project, "Add keyframe", keyframes=project.keyframes + (key,)), key.id


def delete_keyframes(project: Project, ids: Collection[int]) -> Command:
    kept = tuple(k for k in project.keyframes if k.id not in ids)
    n = len(project.keyframes) - len(kept)
    return _edit(project, f"Delete {n} keyframe{'s' * (n != 1)}", keyframes=kept)


def set_locked(project: Project, ids: Collection[int], locked: bool) -> Command:
    """Lock or unlock keys. Unlocking hands an inferred key back to the heuristics."""
    changed = {k.id: replace(k, locked=locked) for k in project.keyframes if k.id in ids}
    track = _replace_keys(project, changed)
    if not locked:
        track = project.blend(track)
    return _edit(project, "Lock keyframes" if locked else "Unlock keyframes", keyframes=track)


def paste_keyframes(project: Project, clipboard: Sequence[Keyframe], at_time: float,
                    snap_fps: int | None = None) -> tuple[Command, list[int]]:
    """Paste copied keys so the earliest lands at ``at_time``; pasted keys are locked edits."""
    if not clipboard:
        raise ParameterError("nothing to paste")
    offset = at_time - min(k.time for k in clipboard)
    pasted = [
        Keyframe(time=_snap(_clamp_time(project, k.time + offset), snap_fps), values=k.values,
                 locked=True, source="edited", id=project.new_id())
        for k in clipboard
    ]
    command = _edit(project, f"Paste {len(pasted)} keyframes",
                    keyframes=project.keyframes + tuple(pasted))
    return command, [k.id for k in pasted]


def change_heuristics(project: Project, settings: HeuristicSettings,
                      merge_key: str | None = None, text: str = "Change heuristics") -> Command:
    """New heuristic settings, re-blended into every unlocked key (no network re-run)."""
    return _edit(project, text, merge_key, heuristics=settings,
                 keyframes=project.blend(project.keyframes, settings))


def set_face_controls(project: Project, controls: FaceControls, merge_key: str | None = None,
                      text: str = "Change face controls") -> Command:
    """New face controls (strengths, smoothing, offsets, blinks, saccades); the keys
    are untouched. Give one ``merge_key`` per slider drag to make it one undo step."""
    return _edit(project, text, merge_key, face_controls=controls)


def change_analysis(project: Project, settings: AnalysisSettings,
                    text: str = "Change analysis settings") -> Command:
    """Re-key from the stored window probabilities. Raises if the window or hop changed
    (that needs inference: run the pipeline, then :func:`apply_analysis`)."""
    if project.windows is None or settings.needs_inference_since(project.analysis):
        raise ParameterError("window or hop changed: the clip must be analysed again")
    return _edit(project, text, analysis=settings,
                 keyframes=project.rekeyed(project.windows, settings))


def apply_analysis(project: Project, windows: WindowProbabilities, settings: AnalysisSettings,
                   text: str = "Analyse clip", model: str | None | object = KEEP_MODEL,
                   actor: ActorReference | None | object = KEEP_MODEL) -> Command:
    """Install fresh network output and the keys built from it; locked keys survive.
    With ``model`` (a folder or name; None = bundled), the output came from that model
    and the project switches to it in the same undo step; likewise ``actor`` (an actor
    reference, or None for none)."""
    switch = {} if model is KEEP_MODEL else {"model": model}
    if actor is not KEEP_MODEL:
        switch["actor"] = actor
    return _edit(project, text, analysis=settings, windows=windows,
                 keyframes=project.rekeyed(windows, settings), **switch)


def set_quality(project: Project, quality: QualityTrack | None,
                text: str = "Score speech quality", merge_key: str | None = None) -> Command:
    """Install quality scores (or a new flag threshold); inferred keys over flagged
    audio become low-confidence, the others lose the mark."""
    if quality is None:
        track = tuple(replace(k, low_confidence=False) for k in project.keyframes)
    else:
        track = project.marked(project.keyframes, quality=quality)
    return _edit(project, text, merge_key, quality=quality, keyframes=track)


def change_fps(project: Project, fps: int) -> Command:
    """The project's animation frame rate (ruler, snapping, default export rate)."""
    if fps not in FRAME_RATES:
        raise ParameterError(f"fps must be one of {', '.join(map(str, FRAME_RATES))}, got {fps}")
    return _edit(project, f"Frame rate {fps} fps", fps=fps)
