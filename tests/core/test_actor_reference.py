"""Actor references: JSON round trip, accumulation, and clear errors for damaged files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emotrack.core.actor_reference import MIN_LINES, ActorReference, ReferenceAccumulator
from emotrack.errors import ParameterError, ProjectError


def reference(lines: int = 3) -> ActorReference:
    return ActorReference(mean=np.arange(4, dtype=np.float32), model="enc-1", layers=(2, 3),
                          lines=tuple(f"line{i}.wav" for i in range(lines)), windows=10, name="Anna")


def test_round_trip_keeps_everything(tmp_path):
    path = reference().save(tmp_path / "anna.json")
    loaded = ActorReference.load(path)
    np.testing.assert_array_equal(loaded.mean, reference().mean)
    assert (loaded.model, loaded.layers, loaded.lines, loaded.windows, loaded.name) == \
        ("enc-1", (2, 3), ("line0.wav", "line1.wav", "line2.wav"), 10, "Anna")


def test_few_lines_are_flagged():
    assert reference(MIN_LINES - 1).too_few_lines
    assert not reference(MIN_LINES).too_few_lines


def test_accumulator_averages_windows_over_lines_and_skips_silent_ones():
    accumulator = ReferenceAccumulator()
    accumulator.add("a", np.ones((2, 3)))
    accumulator.add("silent", np.zeros((0, 3)))
    accumulator.add("b", np.full((1, 3), 4.0))
    made = accumulator.reference("enc", (2,))
    np.testing.assert_allclose(made.mean, [2.0, 2.0, 2.0])
    assert made.lines == ("a", "b") and made.windows == 3


def test_no_speech_at_all_is_an_error():
    with pytest.raises(ParameterError, match="none of the lines holds speech"):
        ReferenceAccumulator().reference("enc", (2,))


@pytest.mark.parametrize("content, message", [
    ("{", "not valid JSON"),
    ('{"format": "something-else"}', "not an Emotrack actor reference"),
    ('{"format": "emotrack-actor-reference", "version": 99}', "version 99"),
    ('{"format": "emotrack-actor-reference", "version": 1, "model": "m", "layer": 3}', "damaged"),
    ('{"format": "emotrack-actor-reference", "version": 1, "model": "m", "layer": 3, "windows": 4, '
     '"mean": [1.0, NaN]}', "NaN"),
    ('{"format": "emotrack-actor-reference", "version": 2, "model": "m", "layer": 3, "windows": 4, '
     '"mean": [1.0]}', "damaged"),
    ('{"format": "emotrack-actor-reference", "version": 2, "model": "m", "layers": [], "windows": 4, '
     '"mean": [1.0]}', "encoder layers"),
])
def test_damaged_files_get_specific_errors(tmp_path, content, message):
    path = tmp_path / "actor.json"
    path.write_text(content)
    with pytest.raises((ProjectError, ParameterError), match=message):
        ActorReference.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="not found"):
        ActorReference.load(tmp_path / "nobody.json")


def test_saved_file_is_plain_json(tmp_path):
    data = json.loads(reference().save(tmp_path / "a.json").read_text())
    assert data["format"] == "emotrack-actor-reference" and len(data["mean"]) == 4


def test_a_one_sided_session_is_flagged():
    accumulator = ReferenceAccumulator()
    for i in range(MIN_LINES):
        accumulator.add(f"l{i}", np.ones((1, 2)), "anger" if i < MIN_LINES - 3 else "joy")
    made = accumulator.reference("enc", (3,))
    assert made.dominant_mood == ("anger", pytest.approx(0.75)) and made.one_sided
    assert any("sound like anger" in note for note in made.warnings())
    assert ActorReference.from_json(made.to_json()).moods == {"anger": 9, "joy": 3}
    balanced = ReferenceAccumulator()
    for i in range(MIN_LINES):
        balanced.add(f"l{i}", np.ones((1, 2)), ("anger", "joy", "sadness")[i % 3])
    assert balanced.reference("enc", (3,)).warnings() == []


def test_a_version_1_reference_reads_as_one_layer(tmp_path):
    """References saved before the head read several layers still load (and are then
    refused by a head that reads other layers, with a message to make them again)."""
    path = tmp_path / "old.json"
    path.write_text('{"format": "emotrack-actor-reference", "version": 1, "model": "m", "layer": 3, '
                    '"windows": 4, "mean": [1.0, 2.0]}')
    assert ActorReference.load(path).layers == (3,)
