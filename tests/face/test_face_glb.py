import numpy as np
import pygltflib
import pytest

from emotrack.core.face_arkit import ARKIT_NAMES
from emotrack.core.face_glb import export_glb
from emotrack.errors import ParameterError


def accessor_array(gltf, index: int) -> np.ndarray:
    """Read an accessor back (dense or sparse) the way a glTF loader does."""
    accessor = gltf.accessors[index]
    blob = gltf.binary_blob()
    width = {"SCALAR": 1, "VEC3": 3}[accessor.type]
    dtype = {pygltflib.FLOAT: "<f4", pygltflib.UNSIGNED_SHORT: "<u2", pygltflib.UNSIGNED_INT: "<u4"}
    if accessor.bufferView is None:
        values = np.zeros((accessor.count, width), np.float32)
    else:
        view = gltf.bufferViews[accessor.bufferView]
        values = np.frombuffer(blob, dtype[accessor.componentType], accessor.count * width,
                               view.byteOffset + (accessor.byteOffset or 0)).reshape(-1, width).astype(np.float32)
    if accessor.sparse:
        sparse = accessor.sparse
        index_view = gltf.bufferViews[sparse.indices.bufferView]
        value_view = gltf.bufferViews[sparse.values.bufferView]
        indices = np.frombuffer(blob, dtype[sparse.indices.componentType], sparse.count, index_view.byteOffset)
        values = values.copy()
        values[indices] = np.frombuffer(blob, "<f4", sparse.count * width, value_view.byteOffset).reshape(-1, width)
    return values


def test_glb_has_named_morph_targets_and_a_weights_animation(tiny_rig, talking_weights, tmp_path):
    path = export_glb(tiny_rig, talking_weights, 24, tmp_path / "face.glb")
    gltf = pygltflib.GLTF2().load(str(path))
    assert gltf.asset.version == "2.0"
    mesh = gltf.meshes[0]
    assert mesh.extras["targetNames"] == list(ARKIT_NAMES)
    primitive = mesh.primitives[0]
    assert len(primitive.targets) == 52 and len(mesh.weights) == 52

    position = gltf.accessors[primitive.attributes.POSITION]
    assert position.count == tiny_rig.vertex_count and position.min and position.max
    np.testing.assert_allclose(accessor_array(gltf, primitive.attributes.POSITION), tiny_rig.neutral * 0.01, atol=1e-7)
    assert accessor_array(gltf, primitive.indices).size == tiny_rig.triangles.size

    for k, name in enumerate(ARKIT_NAMES):
        target = primitive.targets[k]
        target_index = target["POSITION"] if isinstance(target, dict) else target.POSITION
        accessor = gltf.accessors[target_index]
        assert accessor.count == tiny_rig.vertex_count and accessor.min and accessor.max  # spec: POSITION bounds
        delta = accessor_array(gltf, target_index)
        np.testing.assert_allclose(delta, tiny_rig.dense_delta(name) * 0.01, atol=1e-7)
        np.testing.assert_allclose(accessor.min, delta.min(axis=0), atol=1e-7)
        np.testing.assert_allclose(accessor.max, delta.max(axis=0), atol=1e-7)

    animation = gltf.animations[0]
    sampler = animation.samplers[0]
    assert sampler.interpolation == "LINEAR"
    assert animation.channels[0].target.path == "weights" and animation.channels[0].target.node == 0
    times = accessor_array(gltf, sampler.input).ravel()
    np.testing.assert_allclose(times, np.arange(30) / 24, atol=1e-6)
    assert gltf.accessors[sampler.input].min == [0.0] and gltf.accessors[sampler.input].max[0] == pytest.approx(29 / 24)
    np.testing.assert_allclose(accessor_array(gltf, sampler.output).reshape(30, 52), talking_weights, atol=1e-7)


def test_glb_limited_to_some_parts(tiny_rig, talking_weights, tmp_path):
    path = export_glb(tiny_rig, talking_weights, 30, tmp_path / "face.glb", parts=["face", "gums_tongue"])
    gltf = pygltflib.GLTF2().load(str(path))
    primitive = gltf.meshes[0].primitives[0]
    assert gltf.accessors[primitive.attributes.POSITION].count == 5
    tongue_out = accessor_array(gltf, primitive.targets[ARKIT_NAMES.index("tongueOut")]["POSITION"]
                                if isinstance(primitive.targets[0], dict)
                                else primitive.targets[ARKIT_NAMES.index("tongueOut")].POSITION)
    np.testing.assert_allclose(tongue_out[4], [0.0, 0.0025, 0.02], atol=1e-7)


def test_glb_refuses_bad_input(tiny_rig, talking_weights, tmp_path):
    with pytest.raises(ParameterError, match="fps must be a number > 0"):
        export_glb(tiny_rig, talking_weights, 0, tmp_path / "a.glb")
    with pytest.raises(ParameterError, match=r"shape \[frames, 52\]"):
        export_glb(tiny_rig, talking_weights[:, :10], 30, tmp_path / "a.glb")
    with pytest.raises(ParameterError, match="no triangles"):
        export_glb(tiny_rig, talking_weights, 30, tmp_path / "a.glb", parts=["gums_tongue"])
    assert not list(tmp_path.iterdir())
