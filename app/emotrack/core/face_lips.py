"""The lip opening of a face rig in millimetres, for checking lip sync on real geometry.

The probe takes two midline vertices of the rig's "face" part: the lower lip's inner
edge (the highest midline vertex the jaw carries along, > 50 % of the jaw's largest
midline displacement) and the upper lip's inner edge (the lowest midline vertex above
it that the jaw barely moves, < 20 %). Their vertical distance is the opening; it is
linear in the ARKit weights, so it is evaluated on those two vertices only. On the ICT
rig the lips are 0.64 mm apart at rest; pressed lips give a negative opening.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ParameterError
from .articulation import count_closed_bilabials
from .face_arkit import ARKIT_NAMES, check_weights
from .face_rig import FaceRig
from .phonemes import PhoneSegment

_MM_PER_UNIT = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
# Lips this close count as shut (a viewer sees no gap): the lip-sync benchmark's measure
# of a closed /p b m/, and what the face trainer's closure term aims under.
CLOSED_MM = 1.0


def bilabials_closed(segments: Sequence[PhoneSegment], opening_mm: np.ndarray, fps: float) -> tuple[int, int]:
    """(/p b m/ segments during which the lips shut, under ``CLOSED_MM``, within a frame
    either side; /p b m/ segments): the lip-sync figure of the benchmark and the trainer."""
    return count_closed_bilabials(segments, np.asarray(opening_mm) < CLOSED_MM, fps, widen_frames=1.0)


class LipProbe:
    """Vertical upper-minus-lower lip distance (mm) on a rig, for ARKit weights."""

    def __init__(self, rig: FaceRig):
        start, stop = rig.part_range("face")
        neutral = rig.neutral[start:stop]
        jaw = np.linalg.norm(rig.dense_delta("jawOpen")[start:stop], axis=1)
        self.scale = _MM_PER_UNIT.get(rig.units, 10.0)
        midline = np.abs(neutral[:, 0]) < 0.5 / self.scale  # within half a millimetre of x = 0
        if not midline.any():
            raise ParameterError("the rig's face has no vertices on its midline (x = 0)")
        carried = midline & (jaw > 0.5 * jaw[midline].max())
        lower = np.flatnonzero(carried)[np.argmax(neutral[carried, 1])]
        still = midline & (jaw < 0.2 * jaw[midline].max()) & (neutral[:, 1] > neutral[lower, 1])
        if not carried.any() or not still.any():
            raise ParameterError("the rig's jawOpen does not separate the lips on the midline")
        upper = np.flatnonzero(still)[np.argmin(neutral[still, 1])]
        pair = [start + upper, start + lower]
        self.neutral_y = rig.neutral[pair, 1]
        self.basis_y = np.stack([rig.dense_delta(n)[pair, 1] for n in ARKIT_NAMES])  # [52, 2]
        self.rest_mm = self.opening_mm(np.zeros((1, len(ARKIT_NAMES)), np.float32))[0]

    @property
    def opening_row(self) -> np.ndarray:
        """``[52]``: mm of lip opening per unit of each ARKit weight (the opening is
        ``rest_mm + weights @ opening_row``), for losses that work on weights."""
        return self.scale * (self.basis_y[:, 0] - self.basis_y[:, 1])

    def opening_mm(self, weights) -> np.ndarray:
        """``[frames]`` lip opening in mm (``rest_mm`` at neutral; less = lips pressed)."""
        y = self.neutral_y + check_weights(weights) @ self.basis_y
        return self.scale * (y[:, 0] - y[:, 1])
