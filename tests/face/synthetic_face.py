"""A tiny synthetic face rig (no shared data): two triangles of "face", one "tongue"
vertex and a four-vertex eyeball per eye, with a few ARKit shapes that move them."""

from __future__ import annotations

import numpy as np

from emotrack.core.face_arkit import ARKIT_INDEX, ARKIT_NAMES
from emotrack.core.face_rig import FaceRig, SparseTarget

# Deltas are multiples of 1/8 so they survive the asset's float16 exactly.
SHAPES = {
    "jawOpen": ([0, 1], [[0.0, -1.0, 0.0], [0.0, -0.5, 0.25]]),
    "mouthClose": ([1], [[0.0, 0.5, 0.0]]),
    "tongueOut": ([4], [[0.0, 0.25, 2.0]]),
    "eyeBlinkLeft": ([2, 3], [[0.0, -0.125, 0.0], [0.0, -0.25, 0.0]]),
    "browInnerUp": ([2], [[0.0, 0.75, 0.0]]),
}


def make_rig() -> FaceRig:
    face = [[0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]]
    tongue = [[0.5, -0.5, 0.5]]
    eye_l = [[2, 2, 1], [3, 2, 1], [2.5, 2.5, 1], [2.5, 2, 1.5]]  # centre (2.5, 2, 1)
    eye_r = [[-3, 2, 1], [-2, 2, 1], [-2.5, 2.5, 1], [-2.5, 2, 1.5]]  # centre (-2.5, 2, 1)
    neutral = np.array(face + tongue + eye_l + eye_r, np.float32)
    triangles = [[0, 1, 2], [1, 3, 2], [5, 6, 7], [5, 7, 8], [9, 10, 11], [9, 11, 12]]
    targets = [SparseTarget(np.zeros(0, np.int64), np.zeros((0, 3), np.float32)) for _ in ARKIT_NAMES]
    for name, (vertices, deltas) in SHAPES.items():
        targets[ARKIT_INDEX[name]] = SparseTarget(np.array(vertices), np.array(deltas, np.float32))
    return FaceRig(neutral, triangles, ARKIT_NAMES, targets,
                   part_names=["face", "gums_tongue", "eyeball_L", "eyeball_R"],
                   part_ranges=[[0, 4], [4, 5], [5, 9], [9, 13]],
                   eye_centres=[[2.5, 2, 1], [-2.5, 2, 1]], units="cm")


def arkit_weights(frames: int, **curves) -> np.ndarray:
    """``[frames, 52]`` zeros with the named shapes set (scalars or per-frame arrays)."""
    weights = np.zeros((frames, len(ARKIT_NAMES)), np.float32)
    for name, value in curves.items():
        weights[:, ARKIT_INDEX[name]] = value
    return weights
