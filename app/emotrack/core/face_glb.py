"""glTF 2.0 binary (.glb) export: the rig's mesh with one morph target per ARKit shape
and the per-frame weights as an animation, which Blender, Maya (via plug-ins), Unity,
Unreal, three.js and online viewers play as-is.

- Units are metres (glTF's), Y up, face towards +Z: the rig's centimetres times 0.01.
- Morph targets are **sparse accessors** (only the vertices a shape moves), which keeps
  the file at about a third of dense targets' size; each still carries POSITION min/max
  as the specification requires.
- Target names are in the mesh's ``extras.targetNames`` (the convention Blender,
  three.js and Babylon read).
- One animation, channel ``weights`` on the face node, LINEAR, one key per frame at
  time i / fps.
- A retargeted :class:`~.character.Character` exports the same way, with only the ARKit
  shapes it matched (``rig.driven_names``) as targets and animated weights, and its
  materials' base colours as ``COLOR_0`` vertex colours.

pygltflib is imported when a file is written, so importing the core stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .atomic import atomic_binary_file
from .face_arkit import ARKIT_INDEX, check_fps, check_weights
from .face_rig import FaceRig
from .mesh_normals import vertex_normals

GLTF_METRES_PER_RIG_UNIT = {"cm": 0.01, "mm": 0.001, "m": 1.0}


class _BinaryBuilder:
    """Appends arrays to one GLB buffer, each in its own 4-byte aligned bufferView."""

    def __init__(self, gltf, pygltflib):
        self.gltf, self.lib, self.blob = gltf, pygltflib, bytearray()

    def view(self, array: np.ndarray, target: int | None = None) -> int:
        data = np.ascontiguousarray(array).tobytes()
        self.blob.extend(b"\0" * (-len(self.blob) % 4))
        self.gltf.bufferViews.append(self.lib.BufferView(buffer=0, byteOffset=len(self.blob),
                                                         byteLength=len(data), target=target))
        self.blob.extend(data)
        return len(self.gltf.bufferViews) - 1

    def accessor(self, array: np.ndarray, kind: str, target: int | None = None, bounds: bool = False) -> int:
        lib = self.lib
        component = {np.dtype("float32"): lib.FLOAT, np.dtype("uint16"): lib.UNSIGNED_SHORT,
                     np.dtype("uint32"): lib.UNSIGNED_INT}[array.dtype]
        count = len(array) if kind == "SCALAR" and array.ndim == 1 else array.shape[0]
        accessor = lib.Accessor(bufferView=self.view(array, target), componentType=component, count=count, type=kind)
        if bounds:
            flat = array.reshape(count, -1)
            accessor.min, accessor.max = flat.min(axis=0).tolist(), flat.max(axis=0).tolist()
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def sparse_vec3(self, count: int, indices: np.ndarray, values: np.ndarray) -> int:
        """A VEC3 float accessor of ``count`` zeros except ``values`` at ``indices``."""
        lib = self.lib
        if len(indices) == 0:  # sparse.count must be >= 1: one explicit zero
            indices, values = np.zeros(1, np.int64), np.zeros((1, 3), np.float32)
        index_type = np.uint16 if count < 2**16 else np.uint32
        full_min = np.minimum(values.min(axis=0), 0.0) if len(values) < count else values.min(axis=0)
        full_max = np.maximum(values.max(axis=0), 0.0) if len(values) < count else values.max(axis=0)
        sparse = lib.Sparse(
            count=len(indices),
            indices=lib.AccessorSparseIndices(bufferView=self.view(indices.astype(index_type)),
                                              componentType=lib.UNSIGNED_SHORT if index_type is np.uint16
                                              else lib.UNSIGNED_INT),
            values=lib.AccessorSparseValues(bufferView=self.view(values.astype(np.float32))),
        )
        self.gltf.accessors.append(lib.Accessor(componentType=lib.FLOAT, count=count, type="VEC3", sparse=sparse,
                                                min=full_min.tolist(), max=full_max.tolist()))
        return len(self.gltf.accessors) - 1


def face_gltf(rig: FaceRig, weights, fps: float, parts: Sequence[str] | None = None, name: str | None = None):
    """The pygltflib ``GLTF2`` document (binary blob attached) for ``weights`` at ``fps``.

    ``rig``: the bundled face rig or a :class:`~.character.Character`. ``parts`` limits
    the mesh to some of the rig's parts (e.g. ``["face", "teeth", "gums_tongue",
    "eyeball_L", "eyeball_R"]`` for a lighter file); default all. ``name`` names the
    mesh, node and animation (default: the rig's name).
    """
    name = name or rig.name
    import pygltflib as lib

    weights = check_weights(weights)
    fps = check_fps(fps)
    scale = GLTF_METRES_PER_RIG_UNIT.get(rig.units)
    if scale is None:
        raise ParameterError(f"face rig units must be one of {', '.join(GLTF_METRES_PER_RIG_UNIT)}, got {rig.units!r}")
    vertices, triangles = rig.submesh(parts)
    if len(triangles) == 0:
        raise ParameterError("the chosen face parts have no triangles to export")
    new_index = np.full(rig.vertex_count, -1, np.int64)
    new_index[vertices] = np.arange(len(vertices))
    positions = (rig.neutral[vertices] * scale).astype(np.float32)

    gltf = lib.GLTF2(asset=lib.Asset(version="2.0", generator="Emotrack"))
    out = _BinaryBuilder(gltf, lib)
    index_type = np.uint16 if len(vertices) < 2**16 else np.uint32
    attributes = lib.Attributes(
        POSITION=out.accessor(positions, "VEC3", lib.ARRAY_BUFFER, bounds=True),
        NORMAL=out.accessor(vertex_normals(positions, triangles), "VEC3", lib.ARRAY_BUFFER),
    )
    if rig.vertex_colors is not None:
        attributes.COLOR_0 = out.accessor(rig.vertex_colors[vertices].astype(np.float32), "VEC4", lib.ARRAY_BUFFER)
    indices = out.accessor(triangles.reshape(-1).astype(index_type), "SCALAR", lib.ELEMENT_ARRAY_BUFFER)

    names = list(rig.driven_names)
    if not names:
        raise ParameterError("the rig has no blendshapes to animate")
    columns = [ARKIT_INDEX[n] for n in names]
    targets = []
    for target in (rig.targets[k] for k in columns):
        kept = new_index[target.vertices] >= 0
        order = np.argsort(new_index[target.vertices[kept]])  # sparse indices must increase
        targets.append({"POSITION": out.sparse_vec3(
            len(vertices), new_index[target.vertices[kept]][order], target.deltas[kept][order] * scale)})

    primitive = lib.Primitive(attributes=attributes, indices=indices, mode=lib.TRIANGLES, targets=targets)
    gltf.meshes.append(lib.Mesh(name=name, primitives=[primitive], weights=[0.0] * len(names),
                                extras={"targetNames": names}))
    gltf.nodes.append(lib.Node(name=name, mesh=0))
    gltf.scenes.append(lib.Scene(nodes=[0]))
    gltf.scene = 0

    times = (np.arange(len(weights)) / fps).astype(np.float32)
    sampler = lib.AnimationSampler(input=out.accessor(times, "SCALAR", bounds=True),
                                   output=out.accessor(np.ascontiguousarray(weights[:, columns]).reshape(-1), "SCALAR"), interpolation="LINEAR")
    gltf.animations.append(lib.Animation(name=f"{name}_speech", samplers=[sampler],
                                         channels=[lib.AnimationChannel(sampler=0, target=lib.AnimationChannelTarget(
                                             node=0, path="weights"))]))
    gltf.buffers.append(lib.Buffer(byteLength=len(out.blob)))
    gltf.set_binary_blob(bytes(out.blob))
    return gltf


def export_glb(rig: FaceRig, weights, fps: float, path: str | Path, parts: Sequence[str] | None = None) -> Path:
    """Write the animated face or character as a .glb (see :func:`face_gltf`)."""
    path = Path(path)
    data = face_gltf(rig, weights, fps, parts).save_to_bytes()
    with atomic_binary_file(path) as handle:
        for chunk in data:
            handle.write(chunk)
    return path
