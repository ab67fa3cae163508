"""What a batch has to do: its lines, their output names and their fingerprints.

A batch line is one recording to analyse into ``OUTDIR/NAME.emotrack`` (plus exports).
Lines come from folders (every supported audio file, recursively), single audio files,
or manifests:

- CSV with a header row: ``path`` (required), ``prior``, ``prior_strength``,
  ``character``, ``name`` (optional, in any order; other columns are ignored);
- JSON lines (``.jsonl``/``.ndjson``): one object per line with the same keys.

Relative paths in a manifest are relative to the manifest's folder. Errors name the
manifest and the line (``lines.csv:7: prior 'happy' is not one of anger, ...``).

A line's fingerprint is the SHA-256 of its audio bytes, the model's identity (folder
name and a hash of its files) and the settings that shape its outputs; a rerun skips a
line whose fingerprint is unchanged and whose outputs all exist (``batch_ledger``).
Plain Python: no torch, no Qt, no audio decoding.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ..resources import ACTOR_FOLDER, PLAIN_FOLDER, checkpoint_dir
from .emotions import EMOTIONS
from .file_digest import file_sha256
from .voice_groups import VOICE_SPACE_FILE, voice_space_folder

# What io.audio decodes (soundfile, then PyAV); a folder scan takes these and nothing else.
AUDIO_SUFFIXES = frozenset({
    ".wav", ".wave", ".bwf", ".rf64", ".w64", ".aif", ".aiff", ".aifc", ".au", ".snd", ".caf",
    ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".mp4", ".aac", ".alac", ".wv", ".wma",
})
CSV_MANIFESTS = frozenset({".csv"})
JSON_LINES_MANIFESTS = frozenset({".jsonl", ".ndjson"})
MANIFEST_KEYS = ("path", "prior", "prior_strength", "character", "name")
MAX_NAME_LENGTH = 180  # leaves room for the longest export suffix under the 255-byte limit


@dataclass(frozen=True)
class BatchLine:
    """One recording of a batch. ``origin`` says where it came from, for messages."""

    audio: Path
    name: str = ""  # output name without suffix; "" = derive from the audio file
    character: str = ""
    prior: str | None = None
    prior_strength: float | None = None
    origin: str = ""


def recordings_beside(path: str | Path) -> list[Path]:
    """The audio files in ``path``'s folder (``path`` among them, if it is one), sorted;
    none when the folder cannot be read."""
    try:
        return sorted(p for p in Path(path).parent.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    except OSError:
        return []


def collect_lines(inputs: list[str | Path]) -> list[BatchLine]:
    """The lines of every input (folder, audio file or manifest), in the given order,
    each folder sorted by path; named (unique names) and ready to plan."""
    lines: list[BatchLine] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            lines += scan_folder(path)
        elif path.suffix.lower() in CSV_MANIFESTS:
            lines += read_csv_manifest(path)
        elif path.suffix.lower() in JSON_LINES_MANIFESTS:
            lines += read_json_lines_manifest(path)
        elif path.suffix.lower() in AUDIO_SUFFIXES or path.is_file():
            # A file that is not a known manifest is audio; whether it decodes is the line's business.
            lines.append(BatchLine(audio=path, origin=str(path)))
        else:
            raise ParameterError(f"no such file or folder: {item}")
    if not lines:
        raise ParameterError("nothing to do: no audio files in "
                             + ", ".join(str(i) for i in inputs))
    return assign_names(lines)


def scan_folder(folder: Path) -> list[BatchLine]:
    """Every audio file under ``folder`` (hidden files and folders skipped). The first
    folder level is taken as the character (``dialogue/bob/line01.wav`` is Bob's)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in files
                  if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_SUFFIXES]
    lines = []
    for path in sorted(found):
        parts = path.relative_to(folder).parts
        lines.append(BatchLine(audio=path, character=parts[0] if len(parts) > 1 else "",
                               origin=str(path)))
    return lines


def read_csv_manifest(path: Path) -> list[BatchLine]:
    text = _read_manifest(path)
    rows = csv.DictReader(text.splitlines())
    if rows.fieldnames is None or "path" not in [f.strip().lower() for f in rows.fieldnames]:
        raise ParameterError(f"{path}:1: a CSV manifest needs a header row with a 'path' column "
                             f"(and optionally {', '.join(MANIFEST_KEYS[1:])})")
    lines = []
    for number, row in enumerate(rows, start=2):
        fields = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(fields.values()):
            continue  # a blank line
        lines.append(_manifest_line(fields, path, number))
    return lines


def read_json_lines_manifest(path: Path) -> list[BatchLine]:
    lines = []
    for number, text in enumerate(_read_manifest(path).splitlines(), start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise ParameterError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise ParameterError(f"{path}:{number}: each line must be a JSON object, got {type(record).__name__}")
        lines.append(_manifest_line(record, path, number))
    return lines


def _read_manifest(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParameterError(f"manifest not found: {path}") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{path}: the manifest is not UTF-8 text") from None
    except OSError as error:
        raise ParameterError(f"cannot read manifest {path}: {error.strerror or error}") from None


def _manifest_line(fields: dict[str, Any], manifest: Path, number: int) -> BatchLine:
    where = f"{manifest}:{number}"
    audio = fields.get("path")
    if not isinstance(audio, str) or not audio.strip():
        raise ParameterError(f"{where}: 'path' is missing or empty")
    audio_path = Path(audio.strip())
    if not audio_path.is_absolute():
        audio_path = manifest.parent / audio_path
    prior = fields.get("prior") or None
    if prior is not None and prior not in EMOTIONS:
        raise ParameterError(f"{where}: prior {str(prior)[:40]!r} is not one of {', '.join(EMOTIONS)}")
    strength = fields.get("prior_strength")
    if strength in ("", None):
        strength = None
    else:
        try:
            strength = float(strength)
        except (TypeError, ValueError):
            raise ParameterError(f"{where}: prior_strength {str(strength)[:40]!r} is not a number") from None
        if not 0.0 <= strength <= 1.0:
            raise ParameterError(f"{where}: prior_strength must be in 0..1, got {strength:g}")
        if prior is None:
            raise ParameterError(f"{where}: prior_strength needs a prior emotion")
    name = str(fields.get("name") or "").strip()
    if name:
        _check_name(name, where)
    return BatchLine(audio=audio_path, name=name, character=str(fields.get("character") or "").strip(),
                     prior=prior, prior_strength=strength, origin=where)


def _check_name(name: str, where: str) -> None:
    if "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        raise ParameterError(f"{where}: name {name[:60]!r} must be a plain file name "
                             "(no folders, not starting with '.')")
    if len(name.encode("utf-8")) > MAX_NAME_LENGTH:
        raise ParameterError(f"{where}: name is longer than {MAX_NAME_LENGTH} bytes")


def assign_names(lines: list[BatchLine]) -> list[BatchLine]:
    """Give every line a unique output name. Names a manifest gives must be unique
    (a clash names both lines); a derived name is the audio file's stem, and stems that
    clash get their folder's name in front (``bob_line01``), or failing that a short hash
    of their path, so the same file always gets the same name."""
    given: dict[str, BatchLine] = {}
    for line in lines:
        if line.name:
            if line.name in given:
                raise ParameterError(f"{line.origin}: output name {line.name!r} is also used by "
                                     f"{given[line.name].origin}")
            given[line.name] = line
    stems = Counter(_stem(line.audio) for line in lines if not line.name)
    folder_stems = Counter(_folder_stem(line.audio) for line in lines if not line.name)
    named, taken = [], set(given)
    for line in lines:
        name = line.name
        if not name:
            stem, folder_stem = _stem(line.audio), _folder_stem(line.audio)
            if stems[stem] == 1 and stem not in given:
                name = stem
            elif folder_stems[folder_stem] == 1 and folder_stem not in given:
                name = folder_stem  # bob/line01.wav and alice/line01.wav: bob_line01, alice_line01
            else:
                name = f"{stem}-{_path_hash(line.audio)}"
            base, count = name, 1
            while name in taken:  # the same file listed twice
                count += 1
                name = f"{base}-{count}"
        taken.add(name)
        named.append(BatchLine(line.audio, name, line.character, line.prior, line.prior_strength, line.origin))
    return named


def _stem(path: Path) -> str:
    stem = path.stem.lstrip(".") or "line"
    return stem[:MAX_NAME_LENGTH - 16]


def _folder_stem(path: Path) -> str:
    folder = path.absolute().parent.name.lstrip(".")
    return f"{folder}_{_stem(path)}" if folder else _stem(path)


def _path_hash(path: Path) -> str:
    return hashlib.sha1(os.path.abspath(path).encode("utf-8", "surrogateescape")).hexdigest()[:8]


def model_identity(name: str | None, folder: Path) -> str:
    """``NAME:HASH``: the model as given (bundled name or folder) and a hash of the files
    it reads (its checkpoint's, its heads', its voice space), so retrained weights or heads
    in the same folder count as a new model."""
    if not folder.is_dir():
        raise ParameterError(f"emotion model folder not found: {folder}")
    checkpoint = checkpoint_dir(folder)
    files = {p for p in checkpoint.iterdir() if p.is_file()}
    for heads in (folder / PLAIN_FOLDER, folder / ACTOR_FOLDER):
        if heads.is_dir():
            files.update(p for p in heads.iterdir() if p.is_file())
    voice_space = voice_space_folder(folder) / VOICE_SPACE_FILE
    if voice_space.is_file():
        files.add(voice_space)
    digest = hashlib.sha256()
    for path in sorted(files):
        if path.suffix in (".json", ".safetensors", ".bin", ".txt", ".model") and not path.name.startswith("."):
            name_in_model = path.relative_to(checkpoint).as_posix()
            digest.update(name_in_model.encode() + b"\0" + file_sha256(path).encode())
    return f"{name or 'accurate'}:{digest.hexdigest()[:16]}"


def line_fingerprint(audio_sha256: str, model: str, settings: dict[str, Any]) -> str:
    """One hash of everything that decides a line's outputs."""
    payload = json.dumps({"audio": audio_sha256, "model": model, "settings": settings},
                         sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()
