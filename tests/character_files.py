"""Small character files written in the tests (no shared data): a glTF "head" in two
primitives with CC4-style morph target names, and an OBJ head with a shapes folder.

The GLB (7 vertices, 3 triangles), before any node transform:

- primitive 0, red material, indexed: a unit quad, vertices 0-3 of the merged mesh;
- primitive 1, blue material, not indexed: one triangle, vertices 4-6.

Targets (mesh ``extras.targetNames``) and what they move, merged-mesh numbering:
``Jaw_Open`` v0 (0,-1,0) and, through a *sparse* accessor, v5 (0,-0.5,0);
``Eye_Blink_L`` v2 (0,0,0.5) (primitive 1's accessor has no bufferView: all zeros);
``Brow_Raise_Inner_L`` v3 (0,0.25,0); ``Brow_Raise_Inner_R`` v3 (0,0.25,0.125), v6
(0,0.5,0); ``Mouth_Smile_R`` v1 (0.25,0,0); ``Tail_Wag`` (no ARKit meaning) v4 (1,1,1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygltflib

QUAD = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], np.float32)
TRIANGLE = np.array([[2, 0, 0], [3, 0, 0], [2, 1, 0]], np.float32)
NEUTRAL = np.concatenate([QUAD, TRIANGLE])
TRIANGLES = np.array([[0, 1, 2], [1, 3, 2], [4, 5, 6]])
RED, BLUE = [1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]
TARGET_NAMES = ["Jaw_Open", "Eye_Blink_L", "Brow_Raise_Inner_L", "Brow_Raise_Inner_R", "Mouth_Smile_R", "Tail_Wag"]
# Dense deltas of the merged mesh, by target name.
DELTAS = {name: np.zeros((7, 3), np.float32) for name in TARGET_NAMES}
DELTAS["Jaw_Open"][[0, 5]] = [[0, -1, 0], [0, -0.5, 0]]
DELTAS["Eye_Blink_L"][2] = [0, 0, 0.5]
DELTAS["Brow_Raise_Inner_L"][3] = [0, 0.25, 0]
DELTAS["Brow_Raise_Inner_R"][[3, 6]] = [[0, 0.25, 0.125], [0, 0.5, 0]]
DELTAS["Mouth_Smile_R"][1] = [0.25, 0, 0]
DELTAS["Tail_Wag"][4] = [1, 1, 1]


class _Blob:
    def __init__(self, gltf: pygltflib.GLTF2):
        self.gltf, self.data = gltf, bytearray()

    def view(self, array: np.ndarray) -> int:
        raw = np.ascontiguousarray(array).tobytes()
        self.data.extend(b"\0" * (-len(self.data) % 4))
        self.gltf.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(raw)))
        self.data.extend(raw)
        return len(self.gltf.bufferViews) - 1

    def accessor(self, array: np.ndarray | None, kind: str, count: int | None = None, sparse=None) -> int:
        component = pygltflib.UNSIGNED_SHORT if array is not None and array.dtype == np.uint16 else pygltflib.FLOAT
        accessor = pygltflib.Accessor(bufferView=None if array is None else self.view(array), componentType=component,
                                      count=count if array is None else len(array), type=kind, sparse=sparse)
        if kind == "VEC3":  # POSITION accessors need bounds (zeros when there is no data)
            values = np.zeros((1, 3), np.float32) if array is None else array
            accessor.min, accessor.max = values.min(axis=0).tolist(), values.max(axis=0).tolist()
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def sparse_vec3(self, count: int, indices, values) -> int:
        sparse = pygltflib.Sparse(
            count=len(indices),
            indices=pygltflib.AccessorSparseIndices(bufferView=self.view(np.array(indices, np.uint16)),
                                                    componentType=pygltflib.UNSIGNED_SHORT),
            values=pygltflib.AccessorSparseValues(bufferView=self.view(np.array(values, np.float32))))
        return self.accessor(None, "VEC3", count=count, sparse=sparse)


def character_gltf(target_names=TARGET_NAMES, with_targets: bool = True, translation=None,
                   scale=None) -> pygltflib.GLTF2:
    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0"))
    blob = _Blob(gltf)
    for colour in (RED, BLUE):
        gltf.materials.append(pygltflib.Material(pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
            baseColorFactor=colour)))
    quad_targets, triangle_targets = [], []
    for name in TARGET_NAMES:
        quad_targets.append({"POSITION": blob.accessor(DELTAS[name][:4], "VEC3")})
        if name == "Jaw_Open":
            triangle_targets.append({"POSITION": blob.sparse_vec3(3, [1], [[0, -0.5, 0]])})
        elif name == "Eye_Blink_L":
            triangle_targets.append({"POSITION": blob.accessor(None, "VEC3", count=3)})
        else:
            triangle_targets.append({"POSITION": blob.accessor(DELTAS[name][4:], "VEC3")})
    quad = pygltflib.Primitive(attributes=pygltflib.Attributes(POSITION=blob.accessor(QUAD, "VEC3")),
                               indices=blob.accessor(TRIANGLES[:2].reshape(-1).astype(np.uint16), "SCALAR"),
                               material=0, targets=quad_targets if with_targets else [])
    triangle = pygltflib.Primitive(attributes=pygltflib.Attributes(POSITION=blob.accessor(TRIANGLE, "VEC3")),
                                   material=1, targets=triangle_targets if with_targets else [])
    gltf.meshes.append(pygltflib.Mesh(name="head", primitives=[quad, triangle],
                                      extras={"targetNames": list(target_names)} if with_targets else {}))
    gltf.nodes.append(pygltflib.Node(name="head", mesh=0, translation=translation, scale=scale))
    gltf.scenes.append(pygltflib.Scene(nodes=[0]))
    gltf.scene = 0
    gltf.buffers.append(pygltflib.Buffer(byteLength=len(blob.data)))
    gltf.set_binary_blob(bytes(blob.data))
    return gltf


def write_character_glb(path: Path, **options) -> Path:
    character_gltf(**options).save_binary(str(path))
    return path


# ------------------------------------------------------------------------------ OBJ
OBJ_NEUTRAL = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 0, 0]], np.float32)
OBJ_SHAPES = {"jawOpen": {0: [0, -0.5, 0]}, "Mouth_Smile_L": {2: [0.25, 0.25, 0]}, "blink_extra": {4: [0, 0, 1]}}


def _obj_text(vertices: np.ndarray, faces: bool) -> str:
    lines = ["# written by the Emotrack tests", "o head"] + [f"v {x} {y} {z}" for x, y, z in vertices]
    lines += [f"vt 0 0", "vn 0 0 1"]
    if faces:
        lines += ["f 1/1/1 2/1/1 3/1/1 4/1/1", "f 2//1 -1//1 3//1"]  # a quad, then a triangle by a negative index
    return "\n".join(lines) + "\n"


def write_character_obj(folder: Path) -> Path:
    """``head.obj`` (a quad and a triangle on 5 vertices) and ``head_shapes/*.obj``."""
    path = folder / "head.obj"
    path.write_text(_obj_text(OBJ_NEUTRAL, faces=True))
    shapes = folder / "head_shapes"
    shapes.mkdir()
    for name, moves in OBJ_SHAPES.items():
        moved = OBJ_NEUTRAL.copy()
        for vertex, delta in moves.items():
            moved[vertex] += delta
        (shapes / f"{name}.obj").write_text(_obj_text(moved, faces=True))
    return path
