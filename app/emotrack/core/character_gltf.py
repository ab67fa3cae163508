"""Read a character from glTF 2.0 (``.glb`` or ``.gltf``): every mesh that has morph
targets, merged into one triangle mesh, with its targets by name.

- Target names come from the mesh's ``extras.targetNames`` (Blender, three.js, our own
  exporter) or else its first primitive's ``extras.targetNames``; unnamed targets get
  ``"<mesh> target <k>"`` so the report can still list them.
- All primitives of a mesh, and all meshes with targets, are merged (indices offset);
  each primitive's material ``baseColorFactor`` (times its ``COLOR_0``, if any)
  becomes its vertices' colour.
- Dense, sparse and interleaved (``byteStride``) accessors are read, normalised
  integers too; indexed and non-indexed triangles, strips and fans. Points and lines
  are skipped.
- Each mesh is placed by its node's world transform (the first node that uses it),
  deltas by the transform's linear part. A skinned mesh's node transform is ignored, as
  the glTF specification says; the skeleton's bind pose is not applied.
- Buffers may be the GLB's binary chunk, ``data:`` URIs or files beside a ``.gltf``.
- Only POSITION targets are read (normal and tangent targets are not: the preview and
  the exports compute normals); skins, other animations and textures are ignored.

pygltflib is imported when a file is read, so importing the core stays light.
"""

from __future__ import annotations

import base64
import urllib.parse
import warnings
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .character_mesh import LoadedMesh, merge_targets, sparse_target

_COMPONENT_DTYPES = {5120: "i1", 5121: "u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_NORMALISED_SCALE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}
_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_TRIANGLES, _STRIP, _FAN = 4, 5, 6
_WHITE = (1.0, 1.0, 1.0, 1.0)


class _GltfReader:
    def __init__(self, gltf, path: Path):
        self.gltf, self.path, self._buffers = gltf, path, {}

    # ------------------------------------------------------------------ raw data
    def buffer(self, index: int) -> bytes:
        if index not in self._buffers:
            uri = self.gltf.buffers[index].uri
            if not uri:
                data = self.gltf.binary_blob() or b""
            elif uri.startswith("data:"):
                data = base64.b64decode(uri.split(",", 1)[1])
            else:
                try:
                    data = (self.path.parent / urllib.parse.unquote(uri)).read_bytes()
                except OSError as error:
                    raise ParameterError(f"{self.path}: cannot read its buffer {uri!r}: {error}") from None
            self._buffers[index] = data
        return self._buffers[index]

    def _view_array(self, view_index: int, offset: int, count: int, component: int, width: int) -> np.ndarray:
        view = self.gltf.bufferViews[view_index]
        dtype = np.dtype(_COMPONENT_DTYPES[component])
        element = dtype.itemsize * width
        stride = view.byteStride or element
        start = (view.byteOffset or 0) + offset
        data = self.buffer(view.buffer)
        if count and start + stride * (count - 1) + element > len(data):
            raise ParameterError(f"{self.path}: bufferView {view_index} reaches past the end of its buffer")
        return np.ndarray((count, width), dtype, buffer=data, offset=start,
                          strides=(stride, dtype.itemsize)).copy()

    def accessor(self, index: int) -> np.ndarray:
        """``[count, width]``: floats (normalised integers scaled to [0, 1] / [-1, 1]) or integers."""
        try:
            accessor = self.gltf.accessors[index]
            width, component = _WIDTHS[accessor.type], accessor.componentType
            if accessor.bufferView is None:
                values = np.zeros((accessor.count, width), _COMPONENT_DTYPES[component])
            else:
                values = self._view_array(accessor.bufferView, accessor.byteOffset or 0, accessor.count,
                                          component, width)
            sparse = accessor.sparse
            if sparse is not None and sparse.count:
                where = self._view_array(sparse.indices.bufferView, sparse.indices.byteOffset or 0, sparse.count,
                                         sparse.indices.componentType, 1).ravel().astype(np.int64)
                if where.max() >= accessor.count:
                    raise ParameterError(f"{self.path}: accessor {index}'s sparse indices run past its count")
                values[where] = self._view_array(sparse.values.bufferView, sparse.values.byteOffset or 0,
                                                 sparse.count, component, width)
        except (IndexError, KeyError, TypeError, AttributeError) as error:
            raise ParameterError(f"{self.path}: accessor {index} is malformed ({error!r})") from None
        if accessor.normalized and component in _NORMALISED_SCALE:
            return np.maximum(values.astype(np.float32) / _NORMALISED_SCALE[component], -1.0)
        return values.astype(np.float32) if component == 5126 else values.astype(np.int64)

    # ------------------------------------------------------------------ structure
    def mesh_instances(self) -> list[tuple[int, np.ndarray]]:
        """(mesh index, 4x4 world transform) for each mesh with morph targets, first
        use in the scene graph; meshes no node uses are taken untransformed."""
        gltf = self.gltf
        children = {c for node in gltf.nodes for c in (node.children or [])}
        scene_index = gltf.scene if gltf.scene is not None and 0 <= gltf.scene < len(gltf.scenes) else 0
        scene = gltf.scenes[scene_index] if gltf.scenes else None
        roots = (list(scene.nodes or []) if scene is not None
                 else [i for i in range(len(gltf.nodes)) if i not in children])
        found: dict[int, np.ndarray] = {}
        stack = [(root, np.eye(4)) for root in reversed(roots)]
        seen = set()
        while stack:
            index, parent = stack.pop()
            if index in seen or not 0 <= index < len(gltf.nodes):
                continue
            seen.add(index)
            node = gltf.nodes[index]
            world = parent @ _node_matrix(node)
            if node.mesh is not None and node.mesh not in found and self.has_targets(node.mesh):
                found[node.mesh] = np.eye(4) if node.skin is not None else world
            stack.extend((child, world) for child in reversed(node.children or []))
        for mesh in range(len(gltf.meshes)):
            if mesh not in found and self.has_targets(mesh) and not any(n.mesh == mesh for n in gltf.nodes):
                found[mesh] = np.eye(4)
        return list(found.items())

    def has_targets(self, mesh: int) -> bool:
        return 0 <= mesh < len(self.gltf.meshes) and any(p.targets for p in self.gltf.meshes[mesh].primitives)

    def target_names(self, mesh_index: int) -> list[str]:
        mesh = self.gltf.meshes[mesh_index]
        count = max(len(p.targets or []) for p in mesh.primitives)
        names = _extras_names(mesh) or next((_extras_names(p) for p in mesh.primitives if _extras_names(p)), [])
        label = mesh.name or f"mesh {mesh_index}"
        return [str(names[k]) if k < len(names) else f"{label} target {k}" for k in range(count)]

    def base_color(self, material: int | None) -> tuple[float, ...]:
        if material is None or not 0 <= material < len(self.gltf.materials):
            return _WHITE
        pbr = self.gltf.materials[material].pbrMetallicRoughness
        factor = getattr(pbr, "baseColorFactor", None) if pbr is not None else None
        return tuple(float(x) for x in factor) if factor and len(factor) == 4 else _WHITE


    def vertex_colors(self, primitive, count: int) -> np.ndarray:
        """``[count, 4]`` RGBA: the material's base colour times the primitive's COLOR_0."""
        colours = np.tile(np.array(self.base_color(primitive.material), np.float32), (count, 1))
        index = getattr(primitive.attributes, "COLOR_0", None)
        if index is not None:
            own = self.accessor(index).astype(np.float32)
            if len(own) == count and own.shape[1] in (3, 4):
                colours[:, : own.shape[1]] *= own
        return colours


def _extras_names(owner) -> list:
    extras = owner.extras if isinstance(owner.extras, dict) else {}
    names = extras.get("targetNames")
    return list(names) if isinstance(names, list) else []


def _node_matrix(node) -> np.ndarray:
    if node.matrix is not None and len(node.matrix) == 16:
        return np.array(node.matrix, np.float64).reshape(4, 4).T  # glTF stores column-major
    matrix = np.eye(4)
    scale = np.array(node.scale if node.scale is not None else [1, 1, 1], np.float64)
    x, y, z, w = node.rotation if node.rotation is not None else (0.0, 0.0, 0.0, 1.0)
    rotation = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    matrix[:3, :3] = rotation * scale
    matrix[:3, 3] = node.translation if node.translation is not None else (0.0, 0.0, 0.0)
    return matrix


def _primitive_triangles(indices: np.ndarray, mode: int) -> np.ndarray:
    if mode == _TRIANGLES:
        return indices[: len(indices) // 3 * 3].reshape(-1, 3)
    k = np.arange(max(len(indices) - 2, 0))
    if mode == _STRIP:  # every other triangle is wound the other way round
        odd = (k % 2).astype(bool)
        first, second = np.where(odd, k + 1, k), np.where(odd, k, k + 1)
        return np.stack([indices[first], indices[second], indices[k + 2]], axis=1)
    return np.stack([np.full_like(k, indices[0] if len(indices) else 0), indices[k + 1], indices[k + 2]], axis=1)


def read_gltf_character(path: str | Path) -> LoadedMesh:
    import pygltflib

    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"character file not found: {path}")
    try:
        with warnings.catch_warnings():  # pygltflib warns on odd chunks before it fails: the error says it
            warnings.simplefilter("ignore")
            gltf = pygltflib.GLTF2().load(str(path))
    except Exception as error:  # pygltflib raises whatever its parser hits on a corrupt file
        raise ParameterError(f"{path} is not a readable glTF file ({type(error).__name__}: {error})") from None
    if gltf is None or not isinstance(gltf.meshes, list):
        raise ParameterError(f"{path} is not a readable glTF file")
    try:
        return _merged_mesh(_GltfReader(gltf, path))
    except ParameterError:
        raise
    except (IndexError, KeyError, TypeError, AttributeError, ValueError) as error:  # indices pointing nowhere
        raise ParameterError(f"{path} is a malformed glTF file ({type(error).__name__}: {error})") from None


def _merged_mesh(reader: _GltfReader) -> LoadedMesh:
    """Every mesh with morph targets, placed and merged (see the module docstring)."""
    gltf, path = reader.gltf, reader.path
    instances = reader.mesh_instances()
    if not instances:
        raise ParameterError(f"{path} has no mesh with morph targets (shape keys / blendshapes) to drive")

    positions, triangles, colours = [], [], []
    pieces: dict[str, list] = {}
    count = 0
    for mesh_index, world in instances:
        names = reader.target_names(mesh_index)
        for name in names:
            pieces.setdefault(name, [])
        linear, shift = world[:3, :3].astype(np.float32), world[:3, 3].astype(np.float32)
        for primitive in gltf.meshes[mesh_index].primitives:
            mode = _TRIANGLES if primitive.mode is None else primitive.mode
            position_index = primitive.attributes.POSITION
            if mode not in (_TRIANGLES, _STRIP, _FAN) or position_index is None:
                continue
            neutral = reader.accessor(position_index)
            if neutral.shape[1] != 3:
                raise ParameterError(f"{path}: mesh {mesh_index}'s POSITION is not VEC3")
            indices = (np.arange(len(neutral)) if primitive.indices is None
                       else reader.accessor(primitive.indices).ravel())
            faces = _primitive_triangles(indices, mode)
            if faces.size and (faces.min() < 0 or faces.max() >= len(neutral)):
                raise ParameterError(f"{path}: mesh {mesh_index} has indices outside its vertices")
            positions.append(neutral @ linear.T + shift)
            triangles.append(faces + count)
            colours.append(reader.vertex_colors(primitive, len(neutral)))
            for k, target in enumerate(primitive.targets or []):
                index = target.get("POSITION") if isinstance(target, dict) else getattr(target, "POSITION", None)
                if index is None or k >= len(names):
                    continue
                delta = reader.accessor(index)
                if delta.shape != neutral.shape:
                    raise ParameterError(f"{path}: morph target {names[k]!r} has {len(delta)} vertices, "
                                         f"its primitive {len(neutral)}")
                pieces[names[k]].append(sparse_target(delta @ linear.T, count))
            count += len(neutral)
    if not triangles or not sum(len(t) for t in triangles):
        raise ParameterError(f"{path}: its meshes with morph targets have no triangles")
    name = next((gltf.meshes[m].name for m, _ in instances if gltf.meshes[m].name), path.stem)
    return LoadedMesh(name=name, neutral=np.concatenate(positions).astype(np.float32),
                      triangles=np.concatenate(triangles).astype(np.int64),
                      vertex_colors=np.concatenate(colours), units="m",
                      shapes={n: merge_targets(p) for n, p in pieces.items()})
