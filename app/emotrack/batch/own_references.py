"""``emotrack batch --actors auto``: each character's actor reference, made from that
character's own lines in the batch.

A game's dialogue usually comes one folder per character, which says who speaks each
line; the accurate model reads a line far better against its actor's reference than
alone (model card: 0.696 → 0.800 on unseen speakers). So before the batch runs, every
character's lines go through the encoder once (in this process) and their mean becomes
the character's reference, as ``emotrack actor-reference`` would make it. The references
are written to ``OUTDIR/actors/CHARACTER.json`` (to inspect, or to reuse with ``--actors
DIR``) beside ``index.json``, which keys each one by the content of its lines, the model
and the analysis settings: a rerun of the same batch reuses them instead of reading every
line again. A character whose lines mostly sound alike gets no reference (see
``core.voice_groups.DROP_SHARE``), nor does one with a single line.

Lines that name no character (a flat folder, a manifest without the column) are first
grouped by voice (``emotrack.ml.emotion.voices``, as ``emotrack classify`` groups its
files) and each group becomes a character ``voice-N``, with its reference made from its
own lines; ``OUTDIR/actors/voices.json`` keeps which line is which voice, keyed like the
references.
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from ..core.actor_reference import ActorReference, actor_head_id
from ..core.atomic import write_json_atomic
from ..core.batch_plan import BatchLine
from ..core.file_digest import file_sha256
from ..core.settings import AnalysisSettings
from ..core.voice_groups import DROP_SHARE
from ..errors import EmotrackError, ParameterError

FOLDER = "actors"
INDEX = "index.json"
VOICES = "voices.json"  # {"key": ..., "voices": {audio path: "voice-N"}} of the lines without a character


def voice_characters(lines: list[BatchLine], output: Path, model_name: str | None, device: str,
                     settings: AnalysisSettings, say: Callable[[str], None] = lambda text: None) -> list[BatchLine]:
    """``lines``, each line that names no character given the voice it is heard in
    (``voice-1``, ``voice-2``, ...). The groups' references are stored where
    :func:`own_references` finds them, so those lines are not read again for them."""
    import dataclasses

    from ..ml.emotion.voices import read_by_voice
    from ..pipeline import load_emotion_model

    loose = [line for line in lines if not line.character]
    if len(loose) < 2:
        return lines
    folder, head_id = Path(output) / FOLDER, _head_id(model_name)
    key = _key(loose, head_id, settings)
    stored = _read_json(folder / VOICES)
    if stored.get("key") == key and isinstance(stored.get("voices"), dict):
        voices = {str(k): str(v) for k, v in stored["voices"].items()}
        say(f"{len(loose)} lines without a character: their voices reused")
    else:
        model = load_emotion_model(model_name, device)
        if model.voice_space is None:
            say("lines without a character: this emotion model has no voice space, so they are not grouped")
            return lines
        by_audio = {str(line.audio): line for line in loose}
        readings = read_by_voice(model, ((str(line.audio), clip.samples) for line, clip in _readable(loose)),
                                 settings.window, settings.hop, settings.min_pause)
        # A line without speech has no voice: it stays without a character.
        voices = {reading.name: f"voice-{reading.group.number}" for reading in readings if reading.speech}
        index = _read_index(folder / INDEX)
        for group in {reading.group.number: reading.group for reading in readings}.values():
            if group.reference is None:
                continue  # one line, or one mood: own_references says so
            name = f"voice-{group.number}"
            members = [by_audio[readings[i].name] for i in group.members]
            reference = dataclasses.replace(group.reference, name=name,
                                            lines=tuple(Path(line.audio).name for line in members))
            reference.save(folder / f"{name}.json")
            index[name] = _key(members, head_id, settings)
        write_json_atomic(folder / INDEX, index)
        write_json_atomic(folder / VOICES, {"key": key, "voices": voices})
        heard = len(set(voices.values()))
        say(f"{len(loose)} lines without a character: {heard} voice{'s' if heard != 1 else ''} heard")
    return [dataclasses.replace(line, character=voices.get(str(line.audio), "")) if not line.character else line
            for line in lines]


def own_references(lines: list[BatchLine], output: Path, model_name: str | None, device: str,
                   settings: AnalysisSettings, say: Callable[[str], None] = lambda text: None) -> dict[str, dict]:
    """{character: actor reference JSON} for the characters of ``lines`` that get one;
    ``say`` receives a line of news per character (made, reused, or why none)."""
    from ..pipeline import load_emotion_model

    by_character: dict[str, list[BatchLine]] = {}
    for line in lines:
        if line.character:
            by_character.setdefault(line.character, []).append(line)
    folder = Path(output) / FOLDER
    index_path = folder / INDEX
    index = _read_index(index_path)
    head_id = _head_id(model_name)
    model = None
    references: dict[str, dict] = {}
    for character, own in sorted(by_character.items()):
        if len(own) < 2:
            say(f"character {character}: 1 line, read without a reference")
            continue
        key, stored = _key(own, head_id, settings), folder / f"{character}.json"
        reference = _stored(stored) if index.get(character) == key else None
        news = "reused"
        if reference is None:
            if model is None:
                model = load_emotion_model(model_name, device)
            try:
                reference = _make(model, own, settings, character)
            except EmotrackError as error:
                say(f"character {character}: no reference ({error})")
                continue
            reference.save(stored)
            index[character] = key
            write_json_atomic(index_path, index)
            news = "made"
        mood, share = reference.dominant_mood
        if share > DROP_SHARE:
            say(f"character {character}: {share:.0%} of {len(reference.lines)} lines sound like {mood}; a "
                "reference of one mood would hide it, so the lines are read without one")
            continue
        references[character] = reference.to_json()
        say(f"character {character}: reference of {len(reference.lines)} lines {news}")
    return references


def _head_id(model_name: str | None) -> str:
    head_id = actor_head_id(model_name)
    if head_id is None:
        raise ParameterError("--actors auto needs an emotion model with an actor head (both bundled models "
                             "have one; this one's actor/config.json is missing or unreadable)")
    return head_id


def _make(model, lines: list[BatchLine], settings: AnalysisSettings, character: str) -> ActorReference:
    from ..pipeline import build_actor_reference

    return build_actor_reference(model, ((Path(line.audio).name, clip) for line, clip in _readable(lines)),
                                 settings, name=character)


def _readable(lines: list[BatchLine]):
    """``(line, clip)`` of each line that decodes. The others are left out here: the batch
    reports each as a failed line, with its error."""
    from ..io.audio import load_audio

    for line in lines:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the batch reports each line's problems itself
                clip = load_audio(line.audio)
        except EmotrackError:
            continue
        yield line, clip


def _stored(path: Path) -> ActorReference | None:
    try:
        return ActorReference.load(path)
    except EmotrackError:
        return None  # missing or damaged: made again


def _key(lines: list[BatchLine], head_id: str, settings: AnalysisSettings) -> str:
    """What a character's reference depends on: its lines' content, the encoder, the windows."""
    digest = hashlib.sha256()
    for audio in sorted(line.audio for line in lines):
        try:
            digest.update(file_sha256(audio).encode())
        except OSError:
            digest.update(b"unreadable")
    digest.update(json.dumps([head_id, settings.window, settings.hop, settings.min_pause]).encode())
    return digest.hexdigest()


def _read_json(path: Path) -> dict:
    """A JSON object written earlier, or {} when it is missing or damaged (then made again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_index(path: Path) -> dict[str, str]:
    return {str(k): str(v) for k, v in _read_json(path).items()}


def print_news(text: str) -> None:
    print(f"actors: {text}", file=sys.stderr)
