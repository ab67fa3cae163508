"""Rhubarb-style mouth cues (shapes A-H and X) from ARKit weights, for 2D animators.

Rhubarb Lip Sync's shapes: A closed (P B M), B slightly open with teeth together (most
consonants, EE), C open (EH AE), D wide open (AA), E rounded (AO ER), F puckered (UW OW
W), G upper teeth on the lower lip (F V), H tongue raised (long L), X rest.

The rule, per frame, first match wins (weights 0..1; L/R pairs averaged):

    lip_gap = jawOpen - mouthClose       (ARKit's mouthClose shuts the lips over an open jaw)
    round   = max(mouthFunnel, mouthPucker)
    G  mouthRollLower >= 0.35 and mouthRollUpper < 0.2 and lip_gap < 0.25
    A  lip_gap < 0.08 and (mouthClose >= 0.15 or mouthPress >= 0.3 or both rolls >= 0.3)
    H  tongueOut >= 0.3                     (the tongue shows: the nearest Rhubarb shape)
    F  round >= 0.35 and lip_gap < 0.2
    E  round >= 0.35
    D  lip_gap >= 0.5
    C  lip_gap >= 0.25
    B  lip_gap >= 0.08 or mouthStretch >= 0.25 or mouthSmile >= 0.25
    X  otherwise

Consecutive equal frames merge into one cue; a cue shorter than ``min_seconds`` (except
A, since closures are what viewers check first) joins the cue before it, so shapes do
not flicker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .atomic import write_json_atomic, write_text_atomic
from .face_arkit import ARKIT_INDEX, check_fps, check_weights

MOUTH_SHAPES = "ABCDEFGHX"


@dataclass(frozen=True)
class MouthCue:
    start: float
    end: float
    value: str


def _w(weights: np.ndarray, *names: str) -> np.ndarray:
    return weights[:, [ARKIT_INDEX[n] for n in names]].mean(axis=1)


def mouth_shapes(weights) -> list[str]:
    """One Rhubarb shape letter per frame (the rule in the module docstring)."""
    w = check_weights(weights)
    lip_gap = _w(w, "jawOpen") - _w(w, "mouthClose")
    rounded = np.maximum(_w(w, "mouthFunnel"), _w(w, "mouthPucker"))
    roll_lower, roll_upper = _w(w, "mouthRollLower"), _w(w, "mouthRollUpper")
    press = _w(w, "mouthPressLeft", "mouthPressRight")
    wide = np.maximum(_w(w, "mouthStretchLeft", "mouthStretchRight"), _w(w, "mouthSmileLeft", "mouthSmileRight"))
    rules = [
        ("G", (roll_lower >= 0.35) & (roll_upper < 0.2) & (lip_gap < 0.25)),
        ("A", (lip_gap < 0.08) & ((_w(w, "mouthClose") >= 0.15) | (press >= 0.3)
                                  | ((roll_lower >= 0.3) & (roll_upper >= 0.3)))),
        ("H", _w(w, "tongueOut") >= 0.3),
        ("F", (rounded >= 0.35) & (lip_gap < 0.2)),
        ("E", rounded >= 0.35),
        ("D", lip_gap >= 0.5),
        ("C", lip_gap >= 0.25),
        ("B", (lip_gap >= 0.08) | (wide >= 0.25)),
    ]
    shapes = np.full(len(w), "X")
    decided = np.zeros(len(w), bool)
    for letter, condition in rules:
        shapes[condition & ~decided] = letter
        decided |= condition
    return shapes.tolist()


def mouth_cues(weights, fps: float, min_seconds: float = 0.04) -> list[MouthCue]:
    """Mouth cues covering ``[0, frames / fps)``; frame i starts at i / fps."""
    fps = check_fps(fps)
    if not np.isfinite(min_seconds) or min_seconds < 0:
        raise ParameterError(f"min_seconds must be >= 0, got {min_seconds!r}")
    shapes = mouth_shapes(weights)
    runs: list[list] = []  # [start frame, stop frame, shape]
    for i, shape in enumerate(shapes):
        if runs and runs[-1][2] == shape:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1, shape])
    merged: list[list] = []
    for run in runs:
        short = (run[1] - run[0]) / fps < min_seconds and run[2] != "A"
        if merged and (short or merged[-1][2] == run[2]):
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    return [MouthCue(round(a / fps, 3), round(b / fps, 3), shape) for a, b, shape in merged]


def mouth_cues_tsv_text(cues: list[MouthCue]) -> str:
    """Rhubarb's TSV: ``start<TAB>shape`` per cue, ending with an X at the clip's end
    (Rhubarb's own files end on X, which tells the reader where the last cue stops)."""
    lines = [f"{cue.start:.3f}\t{cue.value}" for cue in cues]
    if cues and cues[-1].value != "X":
        lines.append(f"{cues[-1].end:.3f}\tX")
    return "\n".join(lines) + "\n"


def mouth_cues_document(cues: list[MouthCue], sound_file: str = "") -> dict:
    """Rhubarb's JSON layout: ``metadata`` (soundFile, duration) and ``mouthCues``."""
    duration = cues[-1].end if cues else 0.0
    return {
        "metadata": {"soundFile": str(sound_file), "duration": duration},
        "mouthCues": [{"start": c.start, "end": c.end, "value": c.value} for c in cues],
    }


def export_mouth_cues(weights, fps: float, path: str | Path, sound_file: str = "",
                      min_seconds: float = 0.04) -> Path:
    """Write mouth cues as TSV (``.tsv``/``.txt``) or Rhubarb JSON (``.json``)."""
    path = Path(path)
    cues = mouth_cues(weights, fps, min_seconds)
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".txt"):
        write_text_atomic(path, mouth_cues_tsv_text(cues))
    elif suffix == ".json":
        write_json_atomic(path, mouth_cues_document(cues, sound_file))
    else:
        raise ParameterError(f"mouth cues are written as .tsv or .json, not {path.suffix or 'no extension'!r}")
    return path
