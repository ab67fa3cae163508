import numpy as np
import pytest

from synthetic_face import SHAPES, arkit_weights, make_rig
from emotrack.core.face_arkit import ARKIT_INDEX, ARKIT_NAMES, LIVE_LINK_CSV_NAMES, check_fps
from emotrack.core.face_rig import FaceRig, SparseTarget, gaze_rotation, load_face_rig, save_face_asset
from emotrack.errors import ParameterError


def test_arkit_names_are_apples_52_and_live_link_swaps_two_pairs():
    assert len(ARKIT_NAMES) == len(set(ARKIT_NAMES)) == 52
    assert ARKIT_NAMES[0] == "eyeBlinkLeft" and ARKIT_NAMES[-1] == "tongueOut"
    assert ARKIT_NAMES[14:18] == ("jawForward", "jawLeft", "jawRight", "jawOpen")
    assert LIVE_LINK_CSV_NAMES[14:18] == ("JawForward", "JawRight", "JawLeft", "JawOpen")
    assert sorted(n.lower() for n in LIVE_LINK_CSV_NAMES) == sorted(n.lower() for n in ARKIT_NAMES)


def test_evaluate_is_neutral_plus_weighted_deltas_for_every_frame(tiny_rig):
    rng = np.random.default_rng(0)
    weights = rng.uniform(-0.5, 1.5, (7, 52)).astype(np.float32)
    positions = tiny_rig.evaluate(weights)
    assert positions.shape == (7, tiny_rig.vertex_count, 3) and positions.dtype == np.float32
    for f in range(7):
        expected = tiny_rig.neutral.copy()
        for name, (vertices, deltas) in SHAPES.items():
            expected[vertices] += weights[f, ARKIT_INDEX[name]] * np.array(deltas, np.float32)
        np.testing.assert_allclose(positions[f], expected, atol=1e-6)


def test_zero_weights_give_the_neutral_mesh(tiny_rig):
    positions = tiny_rig.evaluate(np.zeros((3, 52)))
    np.testing.assert_array_equal(positions, np.broadcast_to(tiny_rig.neutral, positions.shape))


def test_asset_round_trip_keeps_everything(tiny_rig, tmp_path):
    path = save_face_asset(tmp_path / "rig.npz", tiny_rig, source="test")
    loaded = load_face_rig(path)
    np.testing.assert_array_equal(loaded.neutral, tiny_rig.neutral)
    np.testing.assert_array_equal(loaded.triangles, tiny_rig.triangles)
    assert loaded.part_names == tiny_rig.part_names and loaded.units == "cm"
    np.testing.assert_array_equal(loaded.eye_centres, tiny_rig.eye_centres)
    weights = arkit_weights(2, jawOpen=[0.25, 1.0], tongueOut=0.5)
    np.testing.assert_array_equal(loaded.evaluate(weights), tiny_rig.evaluate(weights))


def test_eye_rotation_turns_eyeballs_about_their_centres(tiny_rig):
    yaw_pitch = np.zeros((2, 2, 2), np.float32)
    yaw_pitch[1, 0] = [np.pi / 2, 0.0]  # left eye, frame 1: a quarter turn towards +X
    yaw_pitch[1, 1] = [0.0, np.pi / 2]  # right eye, frame 1: a quarter turn up
    positions = tiny_rig.evaluate(np.zeros((2, 52)), eye_rotation=yaw_pitch)
    np.testing.assert_allclose(positions[0], tiny_rig.neutral, atol=1e-6)
    # The front vertex of each eye (0.5 in +Z of the centre) goes to +X / +Y.
    np.testing.assert_allclose(positions[1, 8], [3.0, 2.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(positions[1, 12], [-2.5, 2.5, 1.0], atol=1e-5)
    for eye, (start, stop) in enumerate([(5, 9), (9, 13)]):
        before = np.linalg.norm(tiny_rig.neutral[start:stop] - tiny_rig.eye_centres[eye], axis=1)
        after = np.linalg.norm(positions[1, start:stop] - tiny_rig.eye_centres[eye], axis=1)
        np.testing.assert_allclose(after, before, atol=1e-5)
    np.testing.assert_allclose(positions[1, :5], tiny_rig.neutral[:5])  # nothing else moves


def test_gaze_rotation_is_orthonormal():
    r = gaze_rotation([0.3, -1.0], [0.2, 0.5])
    np.testing.assert_allclose(r @ np.swapaxes(r, 1, 2), np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-6)


def test_submesh_keeps_the_parts_triangles(tiny_rig):
    vertices, triangles = tiny_rig.submesh(["face", "eyeball_R"])
    assert vertices.tolist() == [0, 1, 2, 3, 9, 10, 11, 12]
    assert triangles.tolist() == [[0, 1, 2], [1, 3, 2], [4, 5, 6], [4, 6, 7]]
    with pytest.raises(ParameterError, match="unknown face part 'nose'"):
        tiny_rig.submesh(["nose"])


@pytest.mark.parametrize("weights, message", [
    (np.zeros((4, 51)), r"shape \[frames, 52\]"),
    (np.zeros(52), r"shape \[frames, 52\]"),
    (np.zeros((0, 52)), "no frames"),
    (np.where(np.arange(52) == 3, np.nan, 0.0)[None].repeat(2, 0), "frame 0 has NaN"),
])
def test_bad_weights_are_refused(tiny_rig, weights, message):
    with pytest.raises(ParameterError, match=message):
        tiny_rig.evaluate(weights)


def test_bad_eye_rotation_and_fps_are_refused(tiny_rig):
    with pytest.raises(ParameterError, match="eye_rotation must have shape"):
        tiny_rig.evaluate(np.zeros((2, 52)), eye_rotation=np.zeros((2, 2)))
    for fps in (0, -30, float("nan"), "fast"):
        with pytest.raises(ParameterError, match="fps must be a number > 0"):
            check_fps(fps)


def test_a_rig_needs_the_52_arkit_targets_in_order():
    rig = make_rig()
    with pytest.raises(ParameterError, match="52 ARKit blendshapes"):
        FaceRig(rig.neutral, rig.triangles, list(reversed(ARKIT_NAMES)), rig.targets)
    bad = list(rig.targets)
    bad[0] = SparseTarget(np.array([99]), np.zeros((1, 3), np.float32))
    with pytest.raises(ParameterError, match="eyeBlinkLeft moves vertices outside"):
        FaceRig(rig.neutral, rig.triangles, ARKIT_NAMES, bad)


def test_loading_something_else_fails_clearly(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        load_face_rig(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ParameterError, match="not an Emotrack face rig"):
        load_face_rig(other)
