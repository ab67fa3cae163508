"""The committed ICT-FaceKit asset in resources/face (no shared data needed)."""

import numpy as np
import pytest

from blender import blender_glb_report, needs_blender
from emotrack.core.face_arkit import ARKIT_INDEX, ARKIT_NAMES
from emotrack.core.face_glb import export_glb
from emotrack.core.face_rig import default_face_asset_path, load_face_rig
from synthetic_face import arkit_weights

CHIN = 966  # ICT's Multi-PIE landmark 8 (the chin), a face vertex


@pytest.fixture(scope="module")
def rig():
    return load_face_rig()


def test_the_asset_is_small_and_licensed():
    path = default_face_asset_path()
    assert path.stat().st_size < 5e6
    assert "MIT License" in (path.parent / "LICENSE").read_text()


def test_every_arkit_shape_moves_something(rig):
    assert rig.names == ARKIT_NAMES and rig.vertex_count == 25959
    for name, target in zip(rig.names, rig.targets):
        assert len(target.vertices) > 100 and np.abs(target.deltas).max() > 0.1, name


def test_jaw_open_moves_the_chin_down(rig):
    delta = rig.dense_delta("jawOpen")[CHIN]
    assert delta[1] < -1.0  # cm


def test_tongue_out_pushes_the_tongue_forward_past_the_lips(rig):
    start, stop = rig.part_range("gums_tongue")
    moved = rig.evaluate(arkit_weights(1, tongueOut=1.0))[0, start:stop]
    assert (moved - rig.neutral[start:stop])[:, 2].max() == pytest.approx(3.0, abs=0.01)  # cm, at the tip
    face = rig.neutral[: rig.part_range("face")[1]]
    mouth = face[(np.abs(face[:, 0]) < 1) & (face[:, 1] > -5) & (face[:, 1] < -1)]
    assert moved[:, 2].max() > mouth[:, 2].max() + 0.5  # the tip is out past the lips


@pytest.mark.parametrize("shape, eye, axis, sign", [
    ("eyeLookOutLeft", "eyeball_L", 0, 1), ("eyeLookInLeft", "eyeball_L", 0, -1),
    ("eyeLookOutRight", "eyeball_R", 0, -1), ("eyeLookInRight", "eyeball_R", 0, 1),
    ("eyeLookUpLeft", "eyeball_L", 1, 1), ("eyeLookDownRight", "eyeball_R", 1, -1),
])
def test_eye_look_shapes_turn_the_eyeballs(rig, shape, eye, axis, sign):
    start, stop = rig.part_range(eye)
    iris = slice(start + 770, stop)  # ICT: sclera first, then the iris
    moved = rig.evaluate(arkit_weights(1, **{shape: 1.0}))[0]
    shift = moved[iris].mean(axis=0) - rig.neutral[iris].mean(axis=0)
    assert sign * shift[axis] > 0.15


@needs_blender
def test_blender_imports_the_glb_and_plays_its_animation(rig, tmp_path):
    t = np.arange(48) / 24
    weights = arkit_weights(48, jawOpen=0.5 + 0.5 * np.sin(2 * np.pi * t), tongueOut=t / t[-1])
    path = export_glb(rig, weights, 24, tmp_path / "face.glb", parts=["face", "gums_tongue", "teeth"])
    report = [blender_glb_report(path, "jawOpen")]
    assert '"shape_keys": 53' in report[0]
