"""What a character file reader hands to :class:`~.character.Character`: one merged
triangle mesh and its morph targets by the file's own names."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .face_rig import SparseTarget


@dataclass
class LoadedMesh:
    name: str
    neutral: np.ndarray  # float32 [V, 3]
    triangles: np.ndarray  # int64 [T, 3]
    vertex_colors: np.ndarray | None = None  # float32 [V, 4]
    shapes: dict[str, SparseTarget] = field(default_factory=dict)  # the file's target names, file order
    units: str = "m"


def sparse_target(delta: np.ndarray, offset: int = 0) -> SparseTarget:
    """The rows of a dense ``[n, 3]`` delta that move, as vertex indices + offset."""
    delta = np.asarray(delta, np.float32)
    moving = np.flatnonzero(np.any(delta != 0, axis=1))
    return SparseTarget(moving.astype(np.int64) + offset, delta[moving])


def merge_targets(parts: list[SparseTarget]) -> SparseTarget:
    """One target from pieces on disjoint vertex ranges (e.g. several primitives)."""
    parts = [p for p in parts if len(p.vertices)]
    if not parts:
        return SparseTarget(np.zeros(0, np.int64), np.zeros((0, 3), np.float32))
    return SparseTarget(np.concatenate([p.vertices for p in parts]), np.concatenate([p.deltas for p in parts]))


def add_targets(parts: list[SparseTarget]) -> SparseTarget:
    """The sum of targets that may move the same vertices (shapes driven together)."""
    merged = merge_targets(parts)
    vertices, where = np.unique(merged.vertices, return_inverse=True)
    deltas = np.zeros((len(vertices), 3), np.float32)
    np.add.at(deltas, where, merged.deltas)
    return SparseTarget(vertices, deltas)


def fan_triangles(polygon: list[int]) -> list[list[int]]:
    """A convex polygon's triangles as a fan from its first corner (quads, n-gons)."""
    return [[polygon[0], polygon[k], polygon[k + 1]] for k in range(1, len(polygon) - 1)]
