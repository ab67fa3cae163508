"""Fixtures of the face tests; the synthetic rig itself is in synthetic_face.py."""

from __future__ import annotations

import numpy as np
import pytest

from emotrack.core.face_rig import FaceRig
from synthetic_face import arkit_weights, make_rig


@pytest.fixture
def tiny_rig() -> FaceRig:
    return make_rig()


@pytest.fixture
def talking_weights() -> np.ndarray:
    """30 frames: the jaw opens and closes once, the tongue pokes out at the end."""
    t = np.arange(30) / 29
    return arkit_weights(30, jawOpen=np.sin(np.pi * t), tongueOut=np.clip(3 * t - 2, 0, 1),
                         eyeBlinkLeft=(t > 0.5).astype(np.float32))
