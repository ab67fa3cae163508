"""The ``*.emotrack`` project file: versioned JSON, validated on load, saved atomically.

Saving is atomic (:mod:`.atomic`): a crash mid-save leaves the previous project intact. Loading checks
the JSON against a schema and reports the first problem with its location, e.g.
``keyframes/3/time: must be a number, got 'abc'``. A file that is not a project at all
(empty, truncated, not UTF-8, nested thousands deep, over 512 MB, a folder or a pipe),
non-finite numbers (NaN, Infinity, 1e400) and values outside the limits below (times past
the clip, more than a million keyframes) are refused with one sentence, never a traceback.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

from .. import __version__
from ..errors import EmotrackError, ParameterError, ProjectError
from .actor_reference import ActorReference
from .analysis import WindowProbabilities
from .atomic import write_json_atomic
from .audio_diagnosis import KINDS, Problem
from .document import FRAME_RATES, AudioInfo, Project, QualityTrack
from .emotions import EMOTIONS
from .face_controls import face_controls_from_dict, face_controls_to_dict
from .keyframes import Keyframe
from .settings import AnalysisSettings, HeuristicSettings, settings_from_dict, settings_to_dict
from .vad import VoiceActivity

FORMAT = "emotrack-project"
SCHEMA_VERSION = 1
SUFFIX = ".emotrack"

# Limits a project must stay within. They are far beyond any real clip (a day of audio,
# a key every frame at 60 fps for 4.6 hours) yet keep a hostile or corrupt file from
# making the load or a later export allocate gigabytes or run for minutes.
MAX_PROJECT_BYTES = 512 * 1024**2
MAX_DURATION_SECONDS = 24 * 3600.0
MAX_KEYFRAMES = 1_000_000
MAX_WINDOWS = 1_000_000
MAX_QUALITY_FRAMES = 10_000_000
MAX_PROBLEMS = 100_000
MAX_LABELS = 256
MAX_SAMPLE_RATE = 384_000  # the audio loader's limit (io.audio); core does not import io
MAX_SAMPLES = int(MAX_DURATION_SECONDS) * MAX_SAMPLE_RATE
# Keys may sit up to half a frame past the end after snapping to the frame grid; a
# little more covers rounding of hand-edited files.
TIME_TOLERANCE = 0.1
# Integers with more digits than this are corrupt (10**400 would overflow every float).
_MAX_INT_DIGITS = 18

_EMOTION_VALUES = {"type": "object",
                   "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}}
_EMOTION_VALUES_OR_NULL = {**_EMOTION_VALUES, "type": ["object", "null"]}
_SECONDS = {"type": "number", "minimum": 0, "maximum": MAX_DURATION_SECONDS}
# A setting is a JSON scalar, or a list or object of them (heuristic strengths); the
# settings classes check names and ranges, this only keeps out NaN and huge text.
_SCALAR = {"type": ["number", "string", "boolean", "null"], "maxLength": 100}
_SETTING = {**_SCALAR, "type": [*_SCALAR["type"], "array", "object"], "maxItems": 100,
            "items": _SCALAR, "additionalProperties": _SCALAR}
_PATH = {"type": "string", "pattern": "^[^\\x00]*$"}  # an embedded NUL breaks every file call

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
            "additionalProperties": False,
            "properties": {
                "path": _PATH,
                "sha256": {"type": "string", "maxLength": 64},
                "duration": _SECONDS,
                "original_rate": {"type": "integer", "minimum": 1, "maximum": MAX_SAMPLE_RATE},
                "channels": {"type": "integer", "minimum": 1, "maximum": 64},
            },
        },
        "model": {**_PATH, "type": ["string", "null"]},
        # Optional: the actor reference of the analysis (core/actor_reference.py's JSON).
        "actor": {"type": ["object", "null"]},
        "fps": {"enum": list(FRAME_RATES)},
        "labels": {"type": "array", "items": {"type": "string", "maxLength": 100}, "minItems": len(EMOTIONS),
                   "maxItems": MAX_LABELS, "uniqueItems": True},
        "analysis": {"type": "object", "additionalProperties": _SETTING},
        "heuristics": {"type": "object", "additionalProperties": _SETTING, "properties": {
            # One strength per emotion: a list, or an object by emotion name.
            "strengths": {"type": ["array", "object"], "items": {"type": "number"}, "maxItems": 100,
                          "additionalProperties": {"type": "number"}}}},
        # Optional: files from before the face controls load with the defaults.
        "face": {"type": "object", "additionalProperties": {"type": "number"}},
        "windows": {
            "type": ["object", "null"],
            "required": ["starts", "window", "hop", "n_samples", "sample_rate", "probabilities"],
            "properties": {
                "starts": {"type": "array", "maxItems": MAX_WINDOWS,
                           "items": {"type": "integer", "minimum": 0, "maximum": MAX_SAMPLES}},
                "window": {"type": "integer", "minimum": 1, "maximum": MAX_SAMPLES},
                "hop": {"type": "integer", "minimum": 1, "maximum": MAX_SAMPLES},
                "n_samples": {"type": "integer", "minimum": 0, "maximum": MAX_SAMPLES},
                "sample_rate": {"type": "integer", "minimum": 1, "maximum": MAX_SAMPLE_RATE},
                # Row lengths are checked against the labels in _windows_from_dict.
                "probabilities": {"type": "array", "maxItems": MAX_WINDOWS, "items": {
                    "type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}}},
            },
        },
        "quality": {
            "type": ["object", "null"],
            "required": ["frame_scores", "hop_seconds", "vqscore", "threshold"],
            "properties": {
                # Scores are cosines, so within -1..1.
                "frame_scores": {"type": "array", "maxItems": MAX_QUALITY_FRAMES,
                                 "items": {"type": "number", "minimum": -1, "maximum": 1}},
                "hop_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
                "vqscore": {"type": "number", "minimum": -1, "maximum": 1},
                "threshold": {"type": "number", "minimum": -1, "maximum": 1},
                # The supervised estimator's figures; older projects have neither.
                "estimated_pesq": {"type": ["number", "null"], "minimum": 1, "maximum": 5},
                "estimated_stoi": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                # Older projects have none; measured values (snr_db, cutoff_hz, ...) sit
                # beside the four required keys, as in `emotrack quality`'s JSON.
                "problems": {"type": "array", "maxItems": MAX_PROBLEMS, "items": {
                    "type": "object", "required": ["kind", "start", "end", "severity"],
                    "properties": {"kind": {"enum": list(KINDS)}, "start": _SECONDS, "end": _SECONDS,
                                   "severity": {"type": "number", "minimum": 0, "maximum": 1}},
                    "additionalProperties": {"type": "number", "minimum": -1e6, "maximum": 1e6}}},
            },
        },
        "voiced": {"type": ["array", "null"], "maxItems": MAX_WINDOWS,
                   "items": {"type": "array", "items": _SECONDS, "minItems": 2, "maxItems": 2}},
        "keyframes": {
            "type": "array",
            "maxItems": MAX_KEYFRAMES,
            "items": {
                "type": "object",
                "required": ["time", "values"],
                "properties": {
                    "time": _SECONDS,
                    "values": _EMOTION_VALUES,
                    "inferred": _EMOTION_VALUES_OR_NULL,
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
        "actor": project.actor.to_json() if project.actor is not None else None,
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
        "problems": [problem.to_json() for problem in quality.problems],
        "estimated_pesq": _rounded(quality.estimated_pesq, 4),
        "estimated_stoi": _rounded(quality.estimated_stoi, 4),
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def save_project(project: Project, path: str | Path) -> Path:
    """Atomically write ``project`` to ``path`` and remember the path on the project."""
    path = Path(path)
    data = project_to_dict(project, relative_to=path.parent.resolve())
    write_json_atomic(path, data)
    project.path = path
    return path


def load_project(path: str | Path) -> Project:
    """Read and validate a project file. Anything wrong with it, from a folder given as
    the project to a NaN keyframe time, raises :class:`ProjectError` naming the file
    and, where it applies, the JSON location (``keyframes/3/time``) or line and column."""
    path = Path(path)
    data = _parse_project_json(_read_project_text(path), path.name)
    try:
        return project_from_dict(data, base_dir=path.parent)
    except ProjectError as error:
        raise ProjectError(_one_line(f"{path.name}: {error}")) from error


def _one_line(text: str, limit: int = 300) -> str:
    """Messages quote keys and values from the file, which may hold newlines, control
    characters or a megabyte of text; the user gets one readable line."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_project_text(path: Path) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ProjectError(f"no such project file: {path}") from None
    except OSError as error:  # a symlink loop, a path under a file, no permission
        raise ProjectError(f"cannot open project file {path}: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ProjectError(f"{path} is a folder, not a project file")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block forever or never end.
        raise ProjectError(f"{path} is not a regular file (a pipe or device?), so it cannot be a project")
    if info.st_size > MAX_PROJECT_BYTES:
        raise ProjectError(f"{path.name} is {info.st_size / 1024**2:,.0f} MB; a project file is at most "
                           f"{MAX_PROJECT_BYTES // 1024**2} MB, so this is not one (or it is corrupt)")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ProjectError(f"cannot read project file {path}: {error.strerror or error}") from None
    if not raw.strip():
        raise ProjectError(f"{path.name} is empty ({len(raw)} bytes): not a project file, or a save never finished")
    try:
        # utf-8-sig drops a byte-order mark that some editors add when a user edits the file.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ProjectError(f"{path.name} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset "
                           f"{error.start}): not a project file, or a corrupt one") from None


class _BadNumber:
    """Stands in for a JSON number a project must never hold (NaN, Infinity, 1e400,
    10**400), so that schema validation reports it at its JSON location."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token if len(token) <= 24 else f"{token[:12]}...({len(token)} digits)"

    def __repr__(self) -> str:
        return self.token


def _finite_float(token: str) -> float | _BadNumber:
    value = float(token)
    return value if math.isfinite(value) else _BadNumber(token)  # 1e400 parses as inf


def _bounded_int(token: str) -> int | _BadNumber:
    return int(token) if len(token.lstrip("-")) <= _MAX_INT_DIGITS else _BadNumber(token)


def _parse_project_json(text: str, name: str) -> Any:
    try:
        return json.loads(text, parse_constant=_BadNumber, parse_float=_finite_float, parse_int=_bounded_int)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        if error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated string"):
            raise ProjectError(f"{name}: the file ends early (truncated?) at {where} of its JSON; "
                               "it may be half-written") from None
        raise ProjectError(f"{name} is not valid JSON ({where}: {error.msg})") from None
    except RecursionError:
        raise ProjectError(f"{name}: the JSON is nested too deeply to be a project "
                           "(a project is only a few levels deep)") from None


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
    """A project from ``data`` as :func:`load_project` parses it: its JSON reader turns
    NaN, Infinity and oversized numbers into markers the schema refuses, which a dict
    built in Python (holding float('nan')) does not have."""
    try:
        return _project_from_dict(data, base_dir)
    except RecursionError:  # a pathologically nested value that the parser still took
        raise ProjectError("the JSON is nested too deeply to be a project") from None


def _project_from_dict(data: Any, base_dir: Path | None) -> Project:
    _check_version(data)
    _validate_schema(data)
    labels = tuple(data["labels"])
    if labels[: len(EMOTIONS)] != EMOTIONS:
        raise ProjectError(f"labels must start with {', '.join(EMOTIONS)}, got {', '.join(labels)}")
    analysis = _settings(AnalysisSettings, data, "analysis")
    heuristic_settings = _settings(HeuristicSettings, data, "heuristics")
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
    if data.get("actor") is not None:
        project.actor = ActorReference.from_json(data["actor"], "the project's actor reference")
    # Times may not run past the audio; without audio only the schema's limit applies.
    end = project.duration + TIME_TOLERANCE if audio is not None else MAX_DURATION_SECONDS
    if data.get("windows"):
        project.windows = _windows_from_dict(data["windows"], len(labels))
    if data.get("quality"):
        q = data["quality"]
        project.quality = QualityTrack(np.asarray(q["frame_scores"], dtype=np.float64),
                                       q["hop_seconds"], q["vqscore"], q["threshold"],
                                       _problems_from_dicts(q.get("problems", []), end),
                                       q.get("estimated_pesq"), q.get("estimated_stoi"))
    if data.get("voiced") is not None:
        project.voice = _voice_from_segments(data["voiced"], project.duration, end)
    project.keyframes = [_keyframe_from_dict(i, k, labels, project, end) for i, k in enumerate(data["keyframes"])]
    return project


def _settings(cls: type, data: dict[str, Any], key: str):
    try:
        return settings_from_dict(cls, data[key])
    except (ValueError, TypeError) as error:  # ParameterError is a ValueError
        raise ProjectError(f"{key}: {error}") from error


def _validate_schema(data: dict[str, Any]) -> None:
    """Validate against :data:`SCHEMA`. jsonschema takes ~10 µs per number and ~150 µs per
    keyframe, minutes for a project near the limits, so the big arrays' items are first
    checked by a quick test that passes only valid items: only the rest of the document
    and the items it doubts go through jsonschema (which then names the problem)."""
    shallow = dict(data)
    suspects: list[tuple[tuple, Any, dict]] = []
    for path, plain in _BIG_ARRAYS:
        parent = shallow if len(path) == 1 else shallow.get(path[0])
        if not isinstance(parent, dict) or not isinstance(parent.get(path[-1]), list):
            continue  # missing or of the wrong type: the schema says so
        array, schema = parent[path[-1]], _subschema(path)
        if len(array) > schema["maxItems"]:
            raise ProjectError(f"{'/'.join(path)}: has {len(array):,} entries; at most "
                               f"{schema['maxItems']:,} are allowed")
        # Every item the quick test rejects goes to jsonschema: the test is exact only
        # one way (5.0 is a valid window start to the schema, not to the quick test).
        suspects += [((*path, i), item, schema["items"]) for i, item in enumerate(array) if not plain(item)]
        if len(path) == 1:
            shallow[path[0]] = []
        else:
            shallow[path[0]] = {**parent, path[-1]: []}
    _raise_first_error(data=shallow, schema=SCHEMA, prefix=())
    for prefix, item, schema in suspects:
        _raise_first_error(item, schema, prefix)


def _raise_first_error(data: Any, schema: dict, prefix: tuple) -> None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        # A key of the file can be any text (a megabyte of "["): each step is cut short.
        where = "/".join(_short_key(p) for p in (*prefix, *error.absolute_path)) or "project"
        raise ProjectError(f"{where}: {_describe(error)}")


def _subschema(path: tuple[str, ...]) -> dict:
    schema = SCHEMA
    for key in path:
        schema = schema["properties"][key]
    return schema


def _is_number(value: Any, low: float, high: float) -> bool:
    # type() rather than isinstance: True is an int to Python but not a number to JSON.
    return type(value) in (int, float) and low <= value <= high


def _plain_values(values: Any) -> bool:
    return type(values) is dict and all(_is_number(v, 0, 1) for v in values.values())


_KEYFRAME_DEFAULTS = {"locked": False, "low_confidence": False, "source": "inferred", "inferred": None}


def _plain_keyframe(k: Any) -> bool:
    """True only for a keyframe that certainly passes the schema's keyframe rules; any
    key this does not know sends the keyframe to jsonschema."""
    if type(k) is not dict or not k.keys() <= {"time", "values", *_KEYFRAME_DEFAULTS}:
        return False
    get = lambda key: k.get(key, _KEYFRAME_DEFAULTS.get(key))  # noqa: E731
    return (_is_number(get("time"), 0, MAX_DURATION_SECONDS) and _plain_values(get("values"))
            and (get("inferred") is None or _plain_values(get("inferred")))
            and type(get("locked")) is bool and type(get("low_confidence")) is bool
            and get("source") in ("inferred", "edited"))


_BIG_ARRAYS = (
    (("keyframes",), _plain_keyframe),
    (("windows", "starts"), lambda start: type(start) is int and 0 <= start <= MAX_SAMPLES),
    (("windows", "probabilities"), lambda row: type(row) is list and all(_is_number(p, 0, 1) for p in row)),
    (("quality", "frame_scores"), lambda score: _is_number(score, -1, 1)),
    (("voiced",), lambda span: type(span) is list and len(span) == 2
     and all(_is_number(t, 0, MAX_DURATION_SECONDS) for t in span)),
)


_TYPE_WORDS = {"number": "a number", "integer": "a whole number", "string": "text", "boolean": "true or false",
               "array": "a list", "object": "an object", "null": "null"}


def _short(value: Any) -> str:
    """A value for a message, cut short: the offending value can be megabytes."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _short_key(key: Any) -> str:
    text = str(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else f"a list of {len(value):,}"
    return _short(value)


def _describe(error: jsonschema.ValidationError) -> str:
    """One short sentence for a schema violation; jsonschema's own message quotes the
    whole offending value, which can be a megabyte of JSON."""
    rule, limit, value = error.validator, error.validator_value, error.instance
    if isinstance(value, _BadNumber):
        return f"{value.token} is not a usable number (a project holds only finite numbers of sensible size)"
    if rule == "type":
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in ([limit] if isinstance(limit, str) else limit))
        return f"must be {wanted}, got {_kind(value)}"
    if rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[rule]
        return f"must be {words} {limit:g}, got {value:g}"
    if rule == "maxItems":
        return f"has {len(value):,} entries; at most {limit:,} are allowed"
    if rule == "minItems":
        return f"has {len(value)} entries; at least {limit} are needed"
    if rule == "additionalProperties":
        unknown = sorted(set(value) - set(error.schema.get("properties", {})))
        return f"unknown key(s) {_short(', '.join(unknown))[1:-1]}"
    if rule == "required":
        missing = [key for key in limit if key not in value]
        return f"missing required key(s) {', '.join(missing)}"
    if rule in ("enum", "const"):
        allowed = limit if rule == "enum" else [limit]
        return f"must be one of {', '.join(map(str, allowed))}, got {_kind(value)}"
    if rule == "uniqueItems":
        return "has duplicate entries"
    if rule == "pattern":
        return "contains a NUL character"
    if rule == "maxLength":
        return f"is {len(value):,} characters long; at most {limit} are allowed"
    return _short(error.message)


def _windows_from_dict(w: dict[str, Any], n_labels: int) -> WindowProbabilities:
    rows = w["probabilities"]
    for i, row in enumerate(rows):
        if len(row) != n_labels:
            raise ProjectError(f"windows/probabilities/{i}: {len(row)} values, but the project has "
                               f"{n_labels} labels (one probability per label)")
    if len(w["starts"]) != len(rows):
        raise ProjectError(f"windows: {len(w['starts'])} starts but {len(rows)} probability rows")
    late = next((i for i, start in enumerate(w["starts"]) if start > w["n_samples"]), None)
    if late is not None:
        raise ProjectError(f"windows/starts/{late}: starts after the clip's end (sample {w['n_samples']})")
    probabilities = np.array(rows, dtype=np.float64).reshape(-1, n_labels)
    starts = np.asarray(w["starts"], dtype=np.int64)
    return WindowProbabilities(starts, w["window"], w["hop"], probabilities, w["n_samples"], w["sample_rate"])


def _problems_from_dicts(records: list[dict[str, Any]], end: float) -> tuple[Problem, ...]:
    problems = []
    for i, record in enumerate(records):
        if not record["start"] <= record["end"] <= end:
            raise ProjectError(f"quality/problems/{i}: a problem must run forward within the clip "
                               f"(0..{end:g} s), got {record['start']:g}..{record['end']:g} s")
        problems.append(Problem.from_json(record))
    return tuple(problems)


def _voice_from_segments(segments: list[list[float]], duration: float, end: float) -> VoiceActivity:
    hop = 0.01
    voiced = np.zeros(int(np.ceil(duration / hop)) + 1, dtype=bool)
    for i, (start, stop) in enumerate(segments):
        if not start <= stop <= end:
            raise ProjectError(f"voiced/{i}: a span must run forward within the clip "
                               f"(0..{end:g} s), got {start:g}..{stop:g} s")
        voiced[int(round(start / hop)):int(round(stop / hop))] = True
    return VoiceActivity(voiced=voiced, hop_seconds=hop)


def _keyframe_from_dict(index: int, k: dict[str, Any], labels: tuple[str, ...], project: Project,
                        end: float) -> Keyframe:
    where = f"keyframes/{index}"

    def vector(field: str) -> tuple[float, ...]:
        unknown = sorted(set(k[field]) - set(labels))
        if unknown:
            raise ProjectError(f"{where}/{field}: unknown emotion(s) {_short(', '.join(unknown))[1:-1]}")
        return tuple(float(k[field].get(name, 0.0)) for name in labels)

    if k["time"] > end:
        raise ProjectError(f"{where}/time: {k['time']:g} s is past the end of the audio "
                           f"({project.duration:g} s)")
    values = vector("values")
    if not any(values):
        raise ProjectError(f"{where}/values: every emotion is 0; a key needs at least one above 0")
    inferred = vector("inferred") if k.get("inferred") else None
    try:
        return Keyframe(time=float(k["time"]), values=values, inferred=inferred, locked=k.get("locked", False),
                        source=k.get("source", "inferred"), low_confidence=k.get("low_confidence", False),
                        id=project.new_id())
    except EmotrackError as error:
        raise ProjectError(f"{where}: {error}") from error
