"""The ``*.emotrack`` project file: versioned JSON, validated on load, saved atomically.

Saving is atomic (:mod:`.atomic`): a crash mid-save leaves the previous project intact. Loading checks
the JSON against a schema and reports the first problem with its location, e.g.
``keyframes/3/time: 'abc' is not of type 'number'``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

from .. import __version__
from ..errors import EmotrackError, ParameterError, ProjectError
from .analysis import WindowProbabilities
from .atomic import write_json_atomic
from .document import FRAME_RATES, AudioInfo, Project, QualityTrack
from .emotions import EMOTIONS
from .face_controls import face_controls_from_dict, face_controls_to_dict
from .keyframes import Keyframe
from .settings import AnalysisSettings, HeuristicSettings, settings_from_dict, settings_to_dict
from .vad import VoiceActivity

FORMAT = "emotrack-project"
SCHEMA_VERSION = 1
SUFFIX = ".emotrack"

_NUMBER_LIST = {"type": "array", "items": {"type": "number"}}
_EMOTION_VALUES = {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "schema_version", "labels", "analysis", "heuristics", "keyframes"],
    "properties": {
        "format": {"const": FORMAT},
        "schema_version": {"type": "integer", "minimum": 1},
        "app_version": {"type": "string"},
        "audio": {
            "type": ["object", "null"],
            "required": ["path", "sha256", "duration", "original_rate", "channels"],
            "properties": {
                "path": {"type": "string"},
                "sha256": {"type": "string"},
                "duration": {"type": "number", "minimum": 0},
                "original_rate": {"type": "integer", "minimum": 1},
                "channels": {"type": "integer", "minimum": 1},
            },
        },
        "model": {"type": ["string", "null"]},
        "fps": {"enum": list(FRAME_RATES)},
        "labels": {"type": "array", "items": {"type": "string"}, "minItems": len(EMOTIONS)},
        "analysis": {"type": "object"},
        "heuristics": {"type": "object"},
        # Optional: files from before the face controls load with the defaults.
        "face": {"type": "object", "additionalProperties": {"type": "number"}},
        "windows": {
            "type": ["object", "null"],
            "required": ["starts", "window", "hop", "n_samples", "sample_rate", "probabilities"],
            "properties": {
                "starts": _NUMBER_LIST,
                "window": {"type": "integer", "minimum": 1},
                "hop": {"type": "integer", "minimum": 1},
                "n_samples": {"type": "integer", "minimum": 0},
                "sample_rate": {"type": "integer", "minimum": 1},
                "probabilities": {"type": "array", "items": _NUMBER_LIST},
            },
        },
        "quality": {
            "type": ["object", "null"],
            "required": ["frame_scores", "hop_seconds", "vqscore", "threshold"],
            "properties": {
                "frame_scores": _NUMBER_LIST,
                "hop_seconds": {"type": "number", "exclusiveMinimum": 0},
                "vqscore": {"type": "number"},
                "threshold": {"type": "number", "minimum": -1, "maximum": 1},
            },
        },
        "voiced": {"type": ["array", "null"], "items": {"type": "array", "items": {"type": "number"},
                                                        "minItems": 2, "maxItems": 2}},
        "keyframes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["time", "values"],
                "properties": {
                    "time": {"type": "number", "minimum": 0},
                    "values": _EMOTION_VALUES,
                    "inferred": {"oneOf": [_EMOTION_VALUES, {"type": "null"}]},
                    "locked": {"type": "boolean"},
                    "source": {"enum": ["inferred", "edited"]},
                    "low_confidence": {"type": "boolean"},
                },
            },
        },
    },
}


def _vector_dict(labels: tuple[str, ...], values) -> dict[str, float]:
    return {name: round(float(v), 6) for name, v in zip(labels, values)}


def project_to_dict(project: Project, relative_to: Path | None = None) -> dict[str, Any]:
    audio = None
    if project.audio is not None:
        audio_path = Path(project.audio.path)
        if relative_to is not None and audio_path.is_absolute():
            # Relative paths keep a project folder movable; fall back to absolute.
            try:
                audio_path = Path(os.path.relpath(audio_path, relative_to))
            except ValueError:
                pass
        audio = {**vars(project.audio), "path": audio_path.as_posix()}
    windows = None
    if project.windows is not None:
        w = project.windows
        windows = {
            "starts": w.starts.tolist(), "window": w.window, "hop": w.hop,
            "n_samples": w.n_samples, "sample_rate": w.sample_rate,
            "probabilities": np.round(w.probabilities, 6).tolist(),
        }
    labels = project.labels
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "app_version": __version__,
        "audio": audio,
        "model": project.model,
        "fps": project.fps,
        "labels": list(labels),
        "analysis": settings_to_dict(project.analysis),
        "heuristics": settings_to_dict(project.heuristics),
        "face": face_controls_to_dict(project.face_controls),
        "windows": windows,
        "voiced": [list(s) for s in project.voice.segments()] if project.voice is not None else None,
        "quality": _quality_to_dict(project.quality),
        "keyframes": [
            {
                "time": round(k.time, 6),
                "values": _vector_dict(labels, k.values),
                "inferred": _vector_dict(labels, k.inferred) if k.inferred is not None else None,
                "locked": k.locked,
                "source": k.source,
                "low_confidence": k.low_confidence,
            }
            for k in project.keyframes
        ],
    }


def _quality_to_dict(quality: QualityTrack | None) -> dict[str, Any] | None:
    if quality is None:
        return None
    return {
        "frame_scores": np.round(quality.frame_scores, 4).tolist(),
        "hop_seconds": quality.hop_seconds,
        "vqscore": round(quality.vqscore, 6),
        "threshold": quality.threshold,
    }


def save_project(project: Project, path: str | Path) -> Path:
    """Atomically write ``project`` to ``path`` and remember the path on the project."""
    path = Path(path)
    data = project_to_dict(project, relative_to=path.parent.resolve())
    write_json_atomic(path, data)
    project.path = path
    return path


def load_project(path: str | Path) -> Project:
    path = Path(path)
    if not path.exists():
        raise ProjectError(f"no such project file: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ProjectError(f"{path.name} is not a text project file") from error
    except json.JSONDecodeError as error:
        raise ProjectError(
            f"{path.name} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "the file may be truncated or half-written"
        ) from error
    try:
        return project_from_dict(data, base_dir=path.parent)
    except ProjectError as error:
        raise ProjectError(f"{path.name}: {error}") from error


def _check_version(data: Any) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProjectError("not an Emotrack project (missing \"format\": \"emotrack-project\")")
    version = data.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise ProjectError(
            f"written by a newer Emotrack (schema version {version}; this version reads up to "
            f"{SCHEMA_VERSION}): update Emotrack to open it"
        )


def project_from_dict(data: Any, base_dir: Path | None = None) -> Project:
    _check_version(data)
    try:
        jsonschema.validate(data, SCHEMA)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "project"
        raise ProjectError(f"{where}: {error.message}") from error
    labels = tuple(data["labels"])
    if labels[: len(EMOTIONS)] != EMOTIONS:
        raise ProjectError(f"labels must start with {', '.join(EMOTIONS)}, got {', '.join(labels)}")
    try:
        analysis = settings_from_dict(AnalysisSettings, data["analysis"])
        heuristic_settings = settings_from_dict(HeuristicSettings, data["heuristics"])
    except (ParameterError, TypeError) as error:
        raise ProjectError(f"settings: {error}") from error
    try:
        face_controls = face_controls_from_dict(data.get("face", {}))
    except ParameterError as error:  # its message starts with the field's name
        raise ProjectError(f"face/{error}") from error
    audio = None
    if data.get("audio"):
        info = dict(data["audio"])
        audio_path = Path(info["path"])
        if not audio_path.is_absolute() and base_dir is not None:
            audio_path = (base_dir / audio_path).resolve()
        info["path"] = str(audio_path)
        audio = AudioInfo(**info)
    project = Project(audio, labels, analysis, heuristic_settings, data.get("fps", 30), data.get("model"),
                      face_controls)
    if data.get("windows"):
        project.windows = _windows_from_dict(data["windows"], len(labels))
    if data.get("quality"):
        q = data["quality"]
        project.quality = QualityTrack(np.asarray(q["frame_scores"], dtype=np.float64),
                                       q["hop_seconds"], q["vqscore"], q["threshold"])
    if data.get("voiced") is not None:
        project.voice = _voice_from_segments(data["voiced"], project.duration)
    project.keyframes = [_keyframe_from_dict(i, k, labels, project) for i, k in enumerate(data["keyframes"])]
    return project


def _windows_from_dict(w: dict[str, Any], n_labels: int) -> WindowProbabilities:
    probabilities = np.asarray(w["probabilities"], dtype=np.float64).reshape(-1, n_labels) if w["probabilities"] else np.zeros((0, n_labels))
    starts = np.asarray(w["starts"], dtype=np.int64)
    if len(starts) != len(probabilities):
        raise ProjectError(f"windows: {len(starts)} starts but {len(probabilities)} probability rows")
    return WindowProbabilities(starts, w["window"], w["hop"], probabilities, w["n_samples"], w["sample_rate"])


def _voice_from_segments(segments: list[list[float]], duration: float) -> VoiceActivity:
    hop = 0.01
    voiced = np.zeros(int(np.ceil(duration / hop)) + 1, dtype=bool)
    for start, end in segments:
        voiced[int(round(start / hop)):int(round(end / hop))] = True
    return VoiceActivity(voiced=voiced, hop_seconds=hop)


def _keyframe_from_dict(index: int, k: dict[str, Any], labels: tuple[str, ...], project: Project) -> Keyframe:
    def vector(field: str) -> tuple[float, ...]:
        unknown = sorted(set(k[field]) - set(labels))
        if unknown:
            raise ProjectError(f"keyframes/{index}/{field}: unknown emotion(s) {', '.join(unknown)}")
        return tuple(float(k[field].get(name, 0.0)) for name in labels)

    try:
        return Keyframe(
            time=float(k["time"]),
            values=vector("values"),
            inferred=vector("inferred") if k.get("inferred") else None,
            locked=k.get("locked", False),
            source=k.get("source", "inferred"),
            low_confidence=k.get("low_confidence", False),
            id=project.new_id(),
        )
    except EmotrackError as error:
        raise ProjectError(f"keyframes/{index}: {error}") from error
