"""The face rig: a neutral mesh plus one sparse delta per ARKit blendshape, evaluated
into vertex positions with numpy.

It lives in the core (numpy only) because everything downstream of the network needs
it without torch or Qt: the exports write its meshes, the app's preview draws them,
and the network's training loss can call the same maths on tensors through
:attr:`FaceRig.moving_vertices` and :meth:`FaceRig.dense_basis`.

Asset file (``.npz``, written by :func:`save_face_asset`, built from ICT-FaceKit by
``scripts/build_face_asset.py``):

- ``format`` "emotrack-face-rig", ``version`` 1, ``units`` (e.g. "cm"; Y up, face to +Z)
- ``names``: the target names, ARKit's 52 in Apple's order
- ``neutral`` float32 ``[V, 3]``; ``triangles`` ``[T, 3]`` (uint16 when V < 65536)
- ``part_names`` / ``part_ranges`` ``[P, 2]``: contiguous vertex ranges per mesh part
- sparse deltas, one block per target (CSR layout): ``delta_offsets`` ``[K + 1]``,
  ``delta_vertices`` ``[nnz]``, ``delta_values`` float16 ``[nnz, 3]``
- ``eye_centres`` ``[2, 3]``: rotation centres of the left and right eyeball
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..resources import resource_path
from .face_arkit import ARKIT_NAMES, check_weights

ASSET_FORMAT = "emotrack-face-rig"
ASSET_VERSION = 1
EYE_PARTS = ("eyeball_L", "eyeball_R")


def default_face_asset_path() -> Path:
    return resource_path("face", "ict_face_arkit.npz")


@dataclass(frozen=True, eq=False)
class SparseTarget:
    """One blendshape: the vertices it moves and by how much (rig units)."""

    vertices: np.ndarray  # int64 [k]
    deltas: np.ndarray  # float32 [k, 3]


class FaceRig:
    """Neutral mesh + ARKit blendshapes (+ optional eye rotations) -> vertices.

    Evaluation is one matmul over the vertices that any shape moves (about 60 % of the
    ICT mesh); the others are copies of the neutral mesh.
    """

    def __init__(self, neutral, triangles, names: Sequence[str], targets: Sequence[SparseTarget],
                 part_names: Sequence[str] = (), part_ranges=None, eye_centres=None, units: str = "cm"):
        self.neutral = np.ascontiguousarray(neutral, dtype=np.float32)
        if self.neutral.ndim != 2 or self.neutral.shape[1] != 3 or len(self.neutral) == 0:
            raise ParameterError(f"neutral mesh must have shape [vertices, 3], got {list(self.neutral.shape)}")
        self.triangles = np.asarray(triangles, dtype=np.int64)
        if self.triangles.ndim != 2 or self.triangles.shape[1] != 3:
            raise ParameterError(f"triangles must have shape [triangles, 3], got {list(self.triangles.shape)}")
        if self.triangles.size and (self.triangles.min() < 0 or self.triangles.max() >= self.vertex_count):
            raise ParameterError("triangles index vertices outside the mesh")
        self.names = tuple(str(n) for n in names)
        if self.names != ARKIT_NAMES:
            raise ParameterError("a face rig's targets must be the 52 ARKit blendshapes in Apple's order")
        if len(targets) != len(self.names):
            raise ParameterError(f"{len(self.names)} target names but {len(targets)} targets")
        self.targets = tuple(targets)
        for name, target in zip(self.names, self.targets):
            if len(target.vertices) and (target.vertices.min() < 0 or target.vertices.max() >= self.vertex_count):
                raise ParameterError(f"target {name} moves vertices outside the mesh")
        self.part_names = tuple(str(n) for n in part_names)
        self.part_ranges = (np.zeros((0, 2), np.int64) if part_ranges is None
                            else np.asarray(part_ranges, dtype=np.int64).reshape(-1, 2))
        if len(self.part_names) != len(self.part_ranges):
            raise ParameterError("part_names and part_ranges differ in length")
        self.eye_centres = None if eye_centres is None else np.asarray(eye_centres, dtype=np.float32).reshape(2, 3)
        self.units = units
        self.moving_vertices = np.unique(np.concatenate(
            [t.vertices for t in self.targets] + [np.zeros(0, np.int64)])).astype(np.int64)
        self._basis: np.ndarray | None = None

    # ----------------------------------------------------------------- structure
    name = "face"  # what exports call the mesh
    vertex_colors: np.ndarray | None = None  # [V, 4] RGBA where the mesh has colours (a character's materials)

    @property
    def vertex_count(self) -> int:
        return len(self.neutral)

    @property
    def driven_names(self) -> tuple[str, ...]:
        """The ARKit shapes the exports animate: all 52 here; a retargeted
        :class:`~.character.Character` has only those it matched."""
        return self.names

    def part_range(self, name: str) -> tuple[int, int]:
        try:
            start, stop = self.part_ranges[self.part_names.index(name)]
        except ValueError:
            raise ParameterError(f"unknown face part {name!r}; the rig has {', '.join(self.part_names)}") from None
        return int(start), int(stop)

    def dense_delta(self, name: str) -> np.ndarray:
        """The full ``[V, 3]`` delta of one ARKit shape (zeros where it does not move)."""
        try:
            target = self.targets[self.names.index(name)]
        except ValueError:
            raise ParameterError(f"unknown blendshape {name!r}") from None
        delta = np.zeros_like(self.neutral)
        delta[target.vertices] = target.deltas
        return delta

    def dense_basis(self) -> np.ndarray:
        """``[52, M * 3]`` float32: each shape's deltas on :attr:`moving_vertices`
        (built once, then cached; ~17 MB for the ICT rig)."""
        if self._basis is None:
            position = np.full(self.vertex_count, -1, np.int64)
            position[self.moving_vertices] = np.arange(len(self.moving_vertices))
            basis = np.zeros((len(self.targets), len(self.moving_vertices), 3), np.float32)
            for k, target in enumerate(self.targets):
                basis[k, position[target.vertices]] = target.deltas
            self._basis = basis.reshape(len(self.targets), -1)
        return self._basis

    # ---------------------------------------------------------------- evaluation
    def evaluate(self, weights, eye_rotation=None) -> np.ndarray:
        """Vertex positions ``[frames, V, 3]`` (float32, rig units) for ARKit weights.

        ``weights``: ``[frames, 52]`` in :data:`ARKIT_NAMES` order (unclipped).
        ``eye_rotation``: optional ``[frames, 2, 2]`` radians, (yaw, pitch) of the left
        and right eyeball, applied about each eyeball's centre after the blendshapes
        (which already turn the eyes for eyeLook*): a control for procedural saccades.
        Yaw > 0 turns the gaze towards the face's left (+X), pitch > 0 upwards (+Y).
        """
        weights = check_weights(weights)
        frames = len(weights)
        positions = np.broadcast_to(self.neutral, (frames, *self.neutral.shape)).copy()
        if len(self.moving_vertices):
            moved = weights @ self.dense_basis()
            positions[:, self.moving_vertices] += moved.reshape(frames, -1, 3)
        if eye_rotation is not None:
            self._rotate_eyes(positions, eye_rotation)
        return positions

    def _rotate_eyes(self, positions: np.ndarray, eye_rotation) -> None:
        angles = np.asarray(eye_rotation, dtype=np.float32)
        if angles.shape != (len(positions), 2, 2):
            raise ParameterError(f"eye_rotation must have shape [frames, 2, 2] (frames = {len(positions)}), "
                                 f"got {list(angles.shape)}")
        if not np.isfinite(angles).all():
            raise ParameterError("eye_rotation must be finite")
        if self.eye_centres is None:
            raise ParameterError("this face rig has no eyeballs to rotate")
        for eye, part in enumerate(EYE_PARTS):
            start, stop = self.part_range(part)
            rotation = gaze_rotation(angles[:, eye, 0], angles[:, eye, 1])  # [frames, 3, 3]
            local = positions[:, start:stop] - self.eye_centres[eye]
            positions[:, start:stop] = np.einsum("fij,fvj->fvi", rotation, local) + self.eye_centres[eye]

    # ------------------------------------------------------------------- subsets
    def submesh(self, parts: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(vertex indices, triangles re-indexed onto them) for the named parts, or the
        whole mesh when ``parts`` is None: a lighter mesh for an export or a preview."""
        if parts is None:
            return np.arange(self.vertex_count), self.triangles
        if not parts:
            raise ParameterError("choose at least one face part")
        keep = np.zeros(self.vertex_count, bool)
        for part in parts:
            start, stop = self.part_range(part)
            keep[start:stop] = True
        vertices = np.flatnonzero(keep)
        new_index = np.full(self.vertex_count, -1, np.int64)
        new_index[vertices] = np.arange(len(vertices))
        triangles = self.triangles[keep[self.triangles].all(axis=1)]
        return vertices, new_index[triangles]


def gaze_rotation(yaw, pitch) -> np.ndarray:
    """``[n, 3, 3]`` rotations that turn the +Z gaze by ``yaw`` towards +X, then by
    ``pitch`` towards +Y (radians, arrays of length n)."""
    yaw = np.atleast_1d(np.asarray(yaw, np.float64))
    pitch = np.atleast_1d(np.asarray(pitch, np.float64))
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    zero, one = np.zeros_like(yaw), np.ones_like(yaw)
    # About +Y: +Z -> (sin y, 0, cos y).
    about_y = np.stack([np.stack([cy, zero, sy], -1), np.stack([zero, one, zero], -1),
                        np.stack([-sy, zero, cy], -1)], -2)
    # About -X: +Z -> (0, sin p, cos p).
    about_x = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cp, sp], -1),
                        np.stack([zero, -sp, cp], -1)], -2)
    return (about_y @ about_x).astype(np.float32)


# ---------------------------------------------------------------------- asset file
def save_face_asset(path: str | Path, rig: FaceRig, source: str = "") -> Path:
    """Write ``rig`` as a compressed ``.npz`` asset (float16 sparse deltas)."""
    path = Path(path)
    offsets = np.cumsum([0] + [len(t.vertices) for t in rig.targets]).astype(np.int64)
    index_dtype = np.uint16 if rig.vertex_count < 2**16 else np.uint32
    arrays = {
        "format": np.array(ASSET_FORMAT), "version": np.array(ASSET_VERSION), "units": np.array(rig.units),
        "source": np.array(source), "names": np.array(rig.names),
        "neutral": rig.neutral.astype(np.float32), "triangles": rig.triangles.astype(index_dtype),
        "part_names": np.array(rig.part_names, dtype=str), "part_ranges": rig.part_ranges.astype(np.int32),
        "delta_offsets": offsets,
        "delta_vertices": np.concatenate([t.vertices for t in rig.targets]).astype(index_dtype),
        "delta_values": np.concatenate([t.deltas for t in rig.targets]).astype(np.float16),
    }
    if rig.eye_centres is not None:
        arrays["eye_centres"] = rig.eye_centres
    from .atomic import atomic_binary_file

    with atomic_binary_file(path) as handle:  # np.savez_compressed appends .npz to a bare path name
        np.savez_compressed(handle, **arrays)
    return path


def load_face_rig(path: str | Path | None = None) -> FaceRig:
    """Read a face asset (default: the bundled ICT-FaceKit rig)."""
    path = Path(path) if path is not None else default_face_asset_path()
    if not path.is_file():
        raise ParameterError(f"face rig asset not found: {path}")
    with np.load(path, allow_pickle=False) as data:
        if "format" not in data.files or str(data["format"]) != ASSET_FORMAT:
            raise ParameterError(f"{path} is not an Emotrack face rig asset")
        if int(data["version"]) > ASSET_VERSION:
            raise ParameterError(f"{path} is face rig version {int(data['version'])}; this Emotrack reads "
                                 f"up to {ASSET_VERSION}")
        offsets = data["delta_offsets"]
        vertices = data["delta_vertices"].astype(np.int64)
        values = data["delta_values"].astype(np.float32)
        targets = [SparseTarget(vertices[a:b], values[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
        return FaceRig(
            data["neutral"], data["triangles"], [str(n) for n in data["names"]], targets,
            part_names=[str(n) for n in data["part_names"]], part_ranges=data["part_ranges"],
            eye_centres=data["eye_centres"] if "eye_centres" in data.files else None, units=str(data["units"]),
        )
