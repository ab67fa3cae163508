"""Emotion curves and keyframes for DCC tools and game engines.

Curves are sampled once per animation frame (frame i at time i / fps, from 0 through
the clip's end), so Blender, Maya, Unreal and Unity importers need no interpolation of
their own. Files are written atomically.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .document import FRAME_RATES, Project
from .atomic import write_json_atomic, write_text_atomic


def frame_times(duration: float, fps: int) -> np.ndarray:
    if fps not in FRAME_RATES:
        raise ParameterError(f"fps must be one of {', '.join(map(str, FRAME_RATES))}, got {fps}")
    n_frames = int(np.floor(duration * fps + 1e-9)) + 1
    return np.arange(n_frames) / fps


def project_frame_times(project: Project, fps: int) -> np.ndarray:
    """The times of a project's animation frames at ``fps``: through the audio, or the
    last keyframe if one lies past it. Curve exports, face exports and the preview share them."""
    keys = project.keyframes
    return frame_times(max(project.duration, keys[-1].time if keys else 0.0), fps)


def sampled_curves(project: Project, fps: int) -> tuple[np.ndarray, np.ndarray]:
    """(times, values[n_frames, n_labels]) of the project's curves at ``fps``."""
    if not project.keyframes:
        raise ParameterError("the project has no keyframes to export: analyse the clip first")
    times = project_frame_times(project, fps)
    return times, project.curves_at(times)


def curves_csv_text(project: Project, fps: int) -> str:
    times, values = sampled_curves(project, fps)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["frame", "time", *project.labels])
    # Rows are plain numbers: %-formatting a whole row is ~2x faster than csv.writer,
    # which matters for an hour at 60 fps (216 000 rows).
    row_format = "%d," + ",".join(["%.6f"] * (1 + values.shape[1]))
    rows = np.column_stack([np.arange(len(times)), times, values]).tolist()
    buffer.write("\n".join(row_format % tuple(row) for row in rows))
    buffer.write("\n")
    return buffer.getvalue()


def export_curves_csv(project: Project, path: str | Path, fps: int = 30) -> Path:
    """One row per frame: frame, time, then one column per emotion (0..1)."""
    path = Path(path)
    write_text_atomic(path, curves_csv_text(project, fps))
    return path


def curves_document(project: Project, fps: int) -> dict:
    times, values = sampled_curves(project, fps)
    return {
        "format": "emotrack-curves",
        "version": 1,
        "fps": fps,
        "frame_count": len(times),
        "duration": float(times[-1]) if len(times) else 0.0,
        "audio": Path(project.audio.path).name if project.audio else None,
        "labels": list(project.labels),
        # Columnar: one list per emotion, value of frame i at index i.
        "curves": {name: np.round(values[:, j], 6).tolist() for j, name in enumerate(project.labels)},
    }


def export_curves_json(project: Project, path: str | Path, fps: int = 30) -> Path:
    path = Path(path)
    write_json_atomic(path, curves_document(project, fps))
    return path


def keyframes_document(project: Project, fps: int | None = None) -> dict:
    fps = fps or project.fps
    return {
        "format": "emotrack-keyframes",
        "version": 1,
        "fps": fps,
        "labels": list(project.labels),
        "keyframes": [
            {
                "time": round(k.time, 6),
                "frame": int(round(k.time * fps)),
                "values": {name: round(v, 6) for name, v in zip(project.labels, k.values)},
                "locked": k.locked,
                "source": k.source,
                "low_confidence": k.low_confidence,
            }
            for k in project.keyframes
        ],
    }


def export_keyframes_json(project: Project, path: str | Path, fps: int | None = None) -> Path:
    path = Path(path)
    write_json_atomic(path, keyframes_document(project, fps))
    return path
