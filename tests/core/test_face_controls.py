"""The animator's face controls: validation, what each control does to ARKit weights,
deterministic blinks and saccades, saving in the project and undo."""

import json
import time
from dataclasses import fields, replace

import numpy as np
import pytest

from emotrack.core import commands as C
from emotrack.core.articulation import CLOSED_GAP, lip_gap
from emotrack.core.document import AudioInfo, Project
from emotrack.core.face_arkit import ARKIT_INDEX, ARKIT_NAMES
from emotrack.core.face_controls import (BLINK_CLOSE_S, BLINK_OPEN_S, LOWER_FACE, SACCADE_INTERVAL_S,
                                         UPPER_FACE, FaceControls, apply_face_controls, blink_closure, blink_onsets,
                                         face_controls_from_dict, face_controls_to_dict, gaze_at, saccades)
from emotrack.core.project_file import load_project, save_project
from emotrack.errors import ParameterError, ProjectError

I = ARKIT_INDEX
FPS = 30
STILL = FaceControls(blink_strength=0.0, saccade_strength=0.0)  # no procedural eyes


def columns(names):
    return [I[n] for n in names]


def network_face(frames=90, seed=0) -> np.ndarray:
    """Stand-in network output: random weights in [0, 0.5] so scaling stays unclipped."""
    return np.random.default_rng(seed).uniform(0.0, 0.5, (frames, len(ARKIT_NAMES))).astype(np.float32)


def clip_times(seconds: float, fps: int = FPS) -> np.ndarray:
    return np.arange(int(seconds * fps)) / fps


# --- the controls themselves --------------------------------------------------------
@pytest.mark.parametrize("field, value, words", [
    ("lower_strength", 2.5, ["lower_strength", "between 0 and 2", "2.5"]),
    ("lower_smoothing", 0.2, ["lower_smoothing", "between 0 and 0.1 s", "0.2"]),
    ("lip_open_offset", -0.3, ["lip_open_offset", "between -0.2 and 0.2", "-0.3"]),
    ("blink_rate", float("nan"), ["blink_rate", "between 0 and 60", "nan"]),
    ("tongue_strength", float("inf"), ["tongue_strength", "inf"]),
    ("blink_strength", True, ["blink_strength", "must be a number", "True"]),
    ("upper_strength", "1", ["upper_strength", "must be a number", "'1'"]),
    ("seed", 1.0, ["seed", "whole number", "between 0 and 2147483647"]),
    ("seed", -1, ["seed", "between 0 and 2147483647", "-1"]),
    ("seed", False, ["seed", "whole number", "False"]),
])
def test_bad_values_are_refused_naming_field_value_and_range(field, value, words):
    with pytest.raises(ParameterError) as error:
        FaceControls(**{field: value})
    assert all(word in str(error.value) for word in words), str(error.value)


def test_values_are_stored_as_plain_numbers():
    controls = FaceControls(lower_strength=1, seed=np.int64(7), blink_rate=np.float32(20))
    assert type(controls.lower_strength) is float and type(controls.seed) is int
    assert type(controls.blink_rate) is float and controls == FaceControls(1.0, blink_rate=20.0, seed=7)


def test_specs_describe_every_field_with_its_default_inside_its_range():
    specs = FaceControls.SPECS
    assert [s.name for s in specs] == [f.name for f in fields(FaceControls)]
    defaults = FaceControls()
    for spec in specs:
        assert spec.default == getattr(defaults, spec.name)
        assert spec.low <= spec.default <= spec.high and 0 < spec.step < spec.high - spec.low
        assert spec.label and spec.help
    assert [s.name for s in specs if s.integer] == ["seed"]
    FaceControls(**{s.name: s.low for s in specs})  # both ends are allowed
    FaceControls(**{s.name: s.high for s in specs})


def test_dict_round_trip_defaults_for_missing_keys_and_unknown_keys_named():
    controls = FaceControls(upper_strength=0.4, blink_rate=30.0, seed=12)
    assert face_controls_from_dict(json.loads(json.dumps(face_controls_to_dict(controls)))) == controls
    assert face_controls_from_dict({"seed": 3}) == FaceControls(seed=3)
    assert face_controls_from_dict({}) == FaceControls()
    with pytest.raises(ParameterError, match="blinkRate, jaw: not a face control"):
        face_controls_from_dict({"jaw": 1.0, "blinkRate": 2.0})


def test_upper_and_lower_face_split_all_52_shapes():
    assert sorted(UPPER_FACE + LOWER_FACE) == sorted(ARKIT_NAMES)
    assert {"eyeBlinkLeft", "browInnerUp", "cheekSquintLeft", "eyeLookInRight"} <= set(UPPER_FACE)
    assert {"jawOpen", "mouthClose", "cheekPuff", "noseSneerLeft", "tongueOut"} <= set(LOWER_FACE)


# --- what they do to the weights --------------------------------------------------------
def test_defaults_without_procedural_eyes_leave_the_face_as_it_was():
    face = network_face()
    out = apply_face_controls(face, clip_times(3), STILL, 3.0)
    assert out.dtype == np.float32 and out is not face
    np.testing.assert_array_equal(out, face)


def test_strengths_scale_their_group_and_tongue_strength_scales_tongue_out():
    face, times = network_face(), clip_times(3)
    controls = replace(STILL, upper_strength=0.5, lower_strength=1.5, tongue_strength=2.0)
    out = apply_face_controls(face, times, controls, 3.0)
    upper, lower = columns(UPPER_FACE), columns(n for n in LOWER_FACE if n != "tongueOut")
    np.testing.assert_allclose(out[:, upper], 0.5 * face[:, upper], rtol=1e-6)
    np.testing.assert_allclose(out[:, lower], np.minimum(1.5 * face[:, lower], 1), rtol=1e-6)
    np.testing.assert_allclose(out[:, I["tongueOut"]], np.minimum(3.0 * face[:, I["tongueOut"]], 1), rtol=1e-6)
    silent = apply_face_controls(face, times, replace(STILL, lower_strength=0.0), 3.0)
    assert not silent[:, lower].any()


def test_smoothing_steadies_its_own_group_and_keeps_a_held_pose():
    face, times = network_face(), clip_times(3)
    out = apply_face_controls(face, times, replace(STILL, lower_smoothing=0.05), 3.0)
    lower, upper = columns(LOWER_FACE), columns(UPPER_FACE)
    jitter = lambda w: np.abs(np.diff(w, axis=0)).mean()  # noqa: E731
    assert jitter(out[:, lower]) < 0.3 * jitter(face[:, lower])
    np.testing.assert_array_equal(out[:, upper], face[:, upper])
    np.testing.assert_allclose(out[:, lower].mean(axis=0), face[:, lower].mean(axis=0), atol=0.03)
    held = np.full_like(face, 0.3)
    np.testing.assert_allclose(apply_face_controls(held, times, replace(STILL, upper_smoothing=0.1), 3.0), held,
                               atol=1e-6)


def speaking_face() -> np.ndarray:
    """Two frames: lips apart on an open jaw, then a bilabial (jaw a little open, lips shut)."""
    face = np.zeros((2, len(ARKIT_NAMES)), np.float32)
    face[0, I["jawOpen"]] = 0.4
    face[1, I["jawOpen"]], face[1, I["mouthClose"]] = 0.12, 0.10
    return face


def test_lip_open_offset_opens_open_lips_and_never_parts_closed_ones():
    face = speaking_face()
    assert lip_gap(face)[1] < CLOSED_GAP
    opened = apply_face_controls(face, [0.0, 0.1], replace(STILL, lip_open_offset=0.2), 1.0)
    assert opened[0, I["jawOpen"]] == pytest.approx(0.6)
    np.testing.assert_array_equal(opened[1], face[1])  # the /m/ stays shut
    narrowed = apply_face_controls(face, [0.0, 0.1], replace(STILL, lip_open_offset=-0.2), 1.0)
    assert narrowed[0, I["jawOpen"]] == pytest.approx(0.2)
    assert np.all(narrowed[:, I["mouthClose"]] <= narrowed[:, I["jawOpen"]])


def test_eyelid_open_offset_first_undoes_a_squeeze_then_widens_and_back():
    face = np.zeros((1, len(ARKIT_NAMES)), np.float32)
    face[0, columns(["eyeBlinkLeft", "eyeBlinkRight"])] = 0.3
    out = apply_face_controls(face, [0.0], replace(STILL, eyelid_open_offset=0.5), 1.0)
    np.testing.assert_allclose(out[0, columns(["eyeBlinkLeft", "eyeBlinkRight"])], 0.0)
    np.testing.assert_allclose(out[0, columns(["eyeWideLeft", "eyeWideRight"])], 0.2, rtol=1e-6)
    lowered = apply_face_controls(out, [0.0], replace(STILL, eyelid_open_offset=-0.5), 1.0)
    np.testing.assert_allclose(lowered, face, atol=1e-6)


# --- procedural blinks and saccades -------------------------------------------------
def blink_starts(closure: np.ndarray, times: np.ndarray) -> np.ndarray:
    shut = closure > 0.5
    return times[1:][shut[1:] & ~shut[:-1]]


def test_blinks_close_fast_open_slower_and_join_the_network_blink():
    onset = blink_onsets(0, 15.0, 60.0)[0]
    at = lambda t: blink_closure(np.asarray(t), FaceControls(), 60.0)  # noqa: E731
    assert at([onset - 0.01, onset])[:2].tolist() == [0.0, 0.0]
    assert at([onset + BLINK_CLOSE_S / 2])[0] == pytest.approx(0.5)  # half shut half way in
    peak = onset + BLINK_CLOSE_S
    assert at([peak])[0] == pytest.approx(1.0)
    assert at([peak + BLINK_OPEN_S / 2])[0] == pytest.approx(0.5)
    assert at([peak + BLINK_OPEN_S])[0] == 0.0
    assert blink_closure([peak], FaceControls(blink_strength=0.5), 60.0)[0] == pytest.approx(0.5)

    face = np.zeros((1, len(ARKIT_NAMES)), np.float32)
    face[0, I["eyeWideLeft"]] = 0.6
    out = apply_face_controls(face, [peak], replace(FaceControls(), saccade_strength=0.0), 60.0)
    assert out[0, I["eyeBlinkLeft"]] == pytest.approx(1.0) and out[0, I["eyeWideLeft"]] == pytest.approx(0.0)


@pytest.mark.parametrize("rate", [6.0, 15.0, 40.0])
def test_blink_rate_is_the_number_of_blinks_a_minute(rate):
    times = np.arange(0, 60, 0.01)
    counts = [len(blink_starts(blink_closure(times, FaceControls(blink_rate=rate, seed=s), 60.0), times))
              for s in range(8)]
    assert np.mean(counts) == pytest.approx(rate, rel=0.2)
    assert len(set(counts)) > 1  # intervals vary, as real blinks do
    assert not blink_closure(times, FaceControls(blink_rate=0.0), 60.0).any()


def test_saccades_are_conjugate_held_between_and_spaced_half_a_second_to_three():
    times = clip_times(30)
    face = np.zeros((len(times), len(ARKIT_NAMES)), np.float32)
    out = apply_face_controls(face, times, replace(FaceControls(), blink_strength=0.0), 30.0)
    pairs = [("eyeLookOutLeft", "eyeLookInRight"), ("eyeLookInLeft", "eyeLookOutRight"),
             ("eyeLookUpLeft", "eyeLookUpRight"), ("eyeLookDownLeft", "eyeLookDownRight")]
    for left, right in pairs:
        np.testing.assert_array_equal(out[:, I[left]], out[:, I[right]])
    assert out[:, I["eyeLookOutLeft"]].max() > 0 and out[:, I["eyeLookInLeft"]].max() > 0
    moving = np.abs(np.diff(out, axis=0)).max(axis=1) > 0
    assert moving.mean() < 0.1  # held between saccades
    onsets, targets = saccades(0, 30.0)
    gaps = np.diff(onsets)
    assert len(targets) == len(onsets) + 1 and np.all(gaps >= SACCADE_INTERVAL_S[0])
    assert np.all(gaps <= SACCADE_INTERVAL_S[1])
    np.testing.assert_allclose(gaze_at(onsets + 0.1, 0, 30.0), targets[1:])
    doubled = apply_face_controls(face, times, replace(FaceControls(), blink_strength=0.0, saccade_strength=2.0), 30.0)
    looks = columns(n for n in ARKIT_NAMES if n.startswith("eyeLook"))
    np.testing.assert_allclose(doubled[:, looks], 2 * out[:, looks], atol=1e-6)


def test_same_seed_same_eyes_other_seed_other_eyes():
    face, times = network_face(frames=300), clip_times(10)
    first = apply_face_controls(face, times, FaceControls(seed=5), 10.0)
    np.testing.assert_array_equal(first, apply_face_controls(face, times, FaceControls(seed=5), 10.0))
    assert not np.array_equal(first, apply_face_controls(face, times, FaceControls(seed=6), 10.0))


def test_a_window_around_the_playhead_matches_the_whole_clip():
    duration = 12.0
    face, times = network_face(frames=int(duration * FPS)), clip_times(duration)
    controls = FaceControls(upper_strength=0.8, lower_strength=1.2, lip_open_offset=0.05,
                            eyelid_open_offset=0.1, blink_rate=40.0, blink_strength=1.5, seed=3)
    whole = apply_face_controls(face, times, controls, duration)
    for playhead in (0.2, 4.0, 7.33, 11.8):
        window = np.flatnonzero(np.abs(times - playhead) <= 0.5)
        np.testing.assert_array_equal(
            apply_face_controls(face[window], times[window], controls, duration), whole[window])


def test_a_second_of_preview_is_fast():
    face, times = network_face(frames=60), 5.0 + clip_times(2)
    controls = FaceControls(lower_smoothing=0.01, lip_open_offset=0.05, eyelid_open_offset=0.1)
    apply_face_controls(face, times, controls, 120.0)  # the schedule is drawn once, then cached
    spent = []
    for _ in range(50):
        start = time.perf_counter()
        apply_face_controls(face, times, controls, 120.0)
        spent.append(time.perf_counter() - start)
    assert np.median(spent) < 2e-3


def test_bad_weights_and_times_are_refused():
    with pytest.raises(ParameterError, match="shape"):
        apply_face_controls(np.zeros((3, 51)), np.arange(3), FaceControls(), 1.0)
    with pytest.raises(ParameterError, match="one value per frame"):
        apply_face_controls(np.zeros((3, 52)), np.arange(4), FaceControls(), 1.0)


# --- in the project ---------------------------------------------------------------
@pytest.fixture
def project(tmp_path):
    audio = tmp_path / "voice.wav"
    audio.write_bytes(b"RIFF")
    return Project(AudioInfo(str(audio), "0" * 64, 5.0, 44_100, 1))


def test_face_controls_are_saved_with_the_project(project, tmp_path):
    assert project.face_controls == FaceControls()
    project.face_controls = FaceControls(blink_rate=22.5, lower_smoothing=0.004, seed=99)
    loaded = load_project(save_project(project, tmp_path / "shot.emotrack"))
    assert loaded.face_controls == project.face_controls


def test_files_from_before_face_controls_load_with_defaults(project, tmp_path):
    path = save_project(project, tmp_path / "old.emotrack")
    document = json.loads(path.read_text())
    del document["face"]
    path.write_text(json.dumps(document))
    assert load_project(path).face_controls == FaceControls()


@pytest.mark.parametrize("face, words", [
    ({"blink_rate": 90}, "face/blink_rate must be between 0 and 60"),
    ({"seed": 1.5}, "face/seed must be a whole number"),
    ({"mouth": 1}, "face/mouth: not a face control"),
    ({"tongue_strength": "lots"}, "face/tongue_strength: must be a number, got 'lots'"),
])
def test_bad_face_controls_in_a_file_are_named(project, tmp_path, face, words):
    path = save_project(project, tmp_path / "bad.emotrack")
    document = json.loads(path.read_text())
    document["face"].update(face)
    path.write_text(json.dumps(document))
    with pytest.raises(ProjectError, match=words):
        load_project(path)


def test_face_controls_change_is_undoable_and_a_drag_is_one_step(project):
    seen = []
    project.events.face_controls.connect(seen.append)
    keys = project.keyframes
    first = C.set_face_controls(project, FaceControls(blink_rate=20.0), merge_key="blink_rate")
    first.redo(project)
    second = C.set_face_controls(project, FaceControls(blink_rate=25.0), merge_key="blink_rate")
    second.redo(project)
    assert first.merge(second)
    assert project.face_controls == FaceControls(blink_rate=25.0) and project.keyframes is keys
    first.undo(project)
    assert project.face_controls == FaceControls()
    first.redo(project)
    assert project.face_controls == FaceControls(blink_rate=25.0)
    assert seen[-1] == FaceControls(blink_rate=25.0) and len(seen) == 4
    other = C.set_face_controls(project, FaceControls(seed=1), merge_key="seed")
    assert not first.merge(other)
