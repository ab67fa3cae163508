"""Emotion expressions from FACS: EMFACS prototypes mapped to ARKit, scaled per frame.

EMFACS prototypes (Friesen & Ekman 1983), the action units at full expression:

    anger     AU4 0.7, AU5 0.4, AU7 0.6, AU23 0.5
    disgust   AU9 0.7, AU15 0.4, AU16 0.3
    fear      AU1 0.7, AU2 0.5, AU4 0.4, AU5 0.7, AU20 0.5, AU26 0.2
    joy       AU6 0.6, AU12 0.8
    neutral   (none)
    sadness   AU1 0.7, AU4 0.5, AU15 0.6

Action unit -> ARKit shapes (each at the AU's intensity):

    AU1 inner brow raiser     browInnerUp
    AU2 outer brow raiser     browOuterUpLeft/Right
    AU4 brow lowerer          browDownLeft/Right
    AU5 upper lid raiser      eyeWideLeft/Right
    AU6 cheek raiser          cheekSquintLeft/Right
    AU7 lid tightener         eyeSquintLeft/Right
    AU9 nose wrinkler         noseSneerLeft/Right
    AU12 lip corner puller    mouthSmileLeft/Right
    AU15 lip corner depressor mouthFrownLeft/Right
    AU16 lower lip depressor  mouthLowerDownLeft/Right
    AU20 lip stretcher        mouthStretchLeft/Right
    AU23 lip tightener        mouthPressLeft/Right
    AU26 jaw drop             jawOpen

The expression of a frame is the emotion vector (``EMOTIONS`` order: anger, disgust,
fear, joy, neutral, sadness) times the prototypes: probabilities give a blend, a
one-hot vector the full prototype.

Emotion-dependent articulation: the speech movements themselves change with emotion
(louder, tenser speech opens the jaw wider). Per emotion, the gain on the articulated
jaw and on the other articulated mouth shapes:

    emotion   jaw   lips
    anger     1.25  1.15
    disgust   0.9   0.9
    fear      1.1   1.0
    joy       1.1   1.05
    neutral   1.0   1.0
    sadness   0.8   0.85

A frame's gain is the emotion-vector-weighted mean of these.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .emotions import EMOTIONS
from .face_arkit import ARKIT_INDEX, ARKIT_NAMES

ACTION_UNIT_SHAPES: dict[int, tuple[str, ...]] = {
    1: ("browInnerUp",),
    2: ("browOuterUpLeft", "browOuterUpRight"),
    4: ("browDownLeft", "browDownRight"),
    5: ("eyeWideLeft", "eyeWideRight"),
    6: ("cheekSquintLeft", "cheekSquintRight"),
    7: ("eyeSquintLeft", "eyeSquintRight"),
    9: ("noseSneerLeft", "noseSneerRight"),
    12: ("mouthSmileLeft", "mouthSmileRight"),
    15: ("mouthFrownLeft", "mouthFrownRight"),
    16: ("mouthLowerDownLeft", "mouthLowerDownRight"),
    20: ("mouthStretchLeft", "mouthStretchRight"),
    23: ("mouthPressLeft", "mouthPressRight"),
    26: ("jawOpen",),
}

EMFACS_PROTOTYPES: dict[str, dict[int, float]] = {
    "anger": {4: 0.7, 5: 0.4, 7: 0.6, 23: 0.5},
    "disgust": {9: 0.7, 15: 0.4, 16: 0.3},
    "fear": {1: 0.7, 2: 0.5, 4: 0.4, 5: 0.7, 20: 0.5, 26: 0.2},
    "joy": {6: 0.6, 12: 0.8},
    "neutral": {},
    "sadness": {1: 0.7, 4: 0.5, 15: 0.6},
}

# (jaw, lips) articulation gains; see the module docstring.
ARTICULATION_GAINS: dict[str, tuple[float, float]] = {
    "anger": (1.25, 1.15), "disgust": (0.9, 0.9), "fear": (1.1, 1.0),
    "joy": (1.1, 1.05), "neutral": (1.0, 1.0), "sadness": (0.8, 0.85),
}


def _prototype_matrix() -> np.ndarray:
    matrix = np.zeros((len(EMOTIONS), len(ARKIT_NAMES)), np.float32)
    for row, emotion in enumerate(EMOTIONS):
        for unit, intensity in EMFACS_PROTOTYPES[emotion].items():
            for name in ACTION_UNIT_SHAPES[unit]:
                matrix[row, ARKIT_INDEX[name]] = intensity
    return matrix


PROTOTYPE_WEIGHTS: np.ndarray = _prototype_matrix()
"""``[6, 52]``: the full expression of each emotion in ARKit weights."""


def emotion_matrix(emotions, frames: int) -> np.ndarray:
    """``emotions`` as float32 ``[frames, 6]``; a single ``[6]`` vector holds for every frame.

    None means neutral throughout. Values must be finite and non-negative.
    """
    if emotions is None:
        matrix = np.zeros((frames, len(EMOTIONS)), np.float32)
        matrix[:, EMOTIONS.index("neutral")] = 1.0
        return matrix
    array = np.asarray(emotions, dtype=np.float32)
    if array.ndim == 1:
        array = np.broadcast_to(array, (frames, array.shape[0]))
    if array.ndim != 2 or array.shape != (frames, len(EMOTIONS)):
        raise ParameterError(f"emotions must have shape [{frames}, {len(EMOTIONS)}] or [{len(EMOTIONS)}], "
                             f"got {list(np.shape(emotions))}")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ParameterError("emotions must be finite and non-negative")
    return np.ascontiguousarray(array)


def expression_weights(emotions: np.ndarray) -> np.ndarray:
    """``[frames, 52]`` expression from a ``[frames, 6]`` emotion matrix (see module docstring)."""
    return emotions @ PROTOTYPE_WEIGHTS


def articulation_gains(emotions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (jaw gain, lips gain), each ``[frames]``; gain 1 where the vector is all zero."""
    table = np.array([ARTICULATION_GAINS[e] for e in EMOTIONS], np.float32)  # [6, 2]
    total = emotions.sum(axis=1, keepdims=True)
    # An all-zero vector means "no emotion information": articulate as neutral.
    share = np.where(total > 0, emotions / np.maximum(total, 1e-12), 0.0)
    gains = share @ (table - 1.0) + 1.0
    return gains[:, 0], gains[:, 1]
