"""Heuristics that turn inferred emotion vectors into the vectors an animator wants.

All functions take and return arrays of shape (n_keyframes, n_labels) whose first six
columns are :data:`EMOTIONS`; extra labels from a foreign checkpoint ride along
untouched by the emotion-specific steps. Every row of the result sums to 1.

Formulas (v = one keyframe's vector, e = an emotion, n = neutral):

- smoothing over N keyframes: each non-neutral v_e becomes the mean of v_e over the N
  keyframes centred on it (clipped at the ends); neutral is then whatever makes the row
  sum to 1 again, so smoothing spreads emotion, not neutrality.
- contrast γ: v_e ← v_e^γ, renormalised (γ > 1 sharpens the winner, γ < 1 flattens).
- strength s_e (0..1) for non-neutral e: v_e ← s_e · v_e and the removed share
  Σ(1 − s_e)·v_e goes to neutral (a strength of 0 silences an emotion into neutral).
  The neutral strength s_n scales neutral before renormalising, so lowering it lets
  the remaining emotions show through.
- prior p with strength α: v ← (1 − α)·v + α·onehot(p); α 0.9 is mostly the prior,
  α 0.3 a tint.
- threshold τ: emotions below τ are not present and drop to 0 (the strongest stays).
- max emotions k: keep the k strongest, zero the rest.
- finally every row is renormalised to sum 1.
"""

from __future__ import annotations

import numpy as np

from .emotions import EMOTIONS, normalise
from .settings import HeuristicSettings

NEUTRAL = EMOTIONS.index("neutral")
_NON_NEUTRAL = np.array([i for i in range(len(EMOTIONS)) if i != NEUTRAL])


def _renormalise(v: np.ndarray) -> np.ndarray:
    total = v.sum(axis=1, keepdims=True)
    out = np.divide(v, total, out=np.zeros_like(v), where=total > 0)
    out[total[:, 0] <= 0, NEUTRAL] = 1.0
    return out


def smooth(v: np.ndarray, neighbours: int) -> np.ndarray:
    """Moving mean of non-neutral emotions over ``neighbours`` keyframes."""
    if len(v) < 2 or neighbours < 2:
        return v.copy()
    before = (neighbours - 1) // 2
    after = neighbours - 1 - before
    padded = np.pad(v[:, _NON_NEUTRAL], ((before, after), (0, 0)), mode="edge")
    cumulative = np.cumsum(np.vstack([np.zeros((1, padded.shape[1])), padded]), axis=0)
    means = (cumulative[neighbours:] - cumulative[:-neighbours]) / neighbours
    out = v.copy()
    out[:, _NON_NEUTRAL] = means
    rest = 1.0 - out.sum(axis=1) + out[:, NEUTRAL]
    out[:, NEUTRAL] = np.clip(rest, 0.0, None)
    return _renormalise(out)


def contrast(v: np.ndarray, gamma: float) -> np.ndarray:
    return _renormalise(np.power(np.clip(v, 0.0, None), gamma))


def apply_strengths(v: np.ndarray, strengths: np.ndarray) -> np.ndarray:
    out = v.copy()
    scale = np.asarray(strengths, dtype=np.float64)
    removed = (out[:, _NON_NEUTRAL] * (1.0 - scale[_NON_NEUTRAL])).sum(axis=1)
    out[:, _NON_NEUTRAL] *= scale[_NON_NEUTRAL]
    out[:, NEUTRAL] = (out[:, NEUTRAL] + removed) * scale[NEUTRAL]
    return _renormalise(out)


def blend_prior(v: np.ndarray, emotion: str, strength: float) -> np.ndarray:
    prior = np.zeros(v.shape[1])
    prior[EMOTIONS.index(emotion)] = 1.0
    return (1.0 - strength) * v + strength * prior


def threshold(v: np.ndarray, tau: float) -> np.ndarray:
    strongest = np.argmax(v, axis=1)
    keep = v >= tau
    keep[np.arange(len(v)), strongest] = True
    return _renormalise(np.where(keep, v, 0.0))


def keep_top(v: np.ndarray, k: int) -> np.ndarray:
    if k >= v.shape[1]:
        return v.copy()
    order = np.argsort(-v, axis=1, kind="stable")
    out = np.zeros_like(v)
    rows = np.arange(len(v))[:, None]
    out[rows, order[:, :k]] = v[rows, order[:, :k]]
    return _renormalise(out)


def apply(vectors: np.ndarray, settings: HeuristicSettings) -> np.ndarray:
    """Apply every enabled heuristic in the documented order; rows sum to 1."""
    v = normalise(np.atleast_2d(np.asarray(vectors, dtype=np.float64)))
    if v.size == 0:
        return v
    if v.shape[1] < len(EMOTIONS):
        raise ValueError(f"vectors need at least {len(EMOTIONS)} columns, got {v.shape[1]}")
    emotions, extras = v[:, : len(EMOTIONS)], v[:, len(EMOTIONS):]
    extra_share = extras.sum(axis=1, keepdims=True)
    # Emotion-specific steps act on the six emotions' share; extras keep theirs.
    core = _renormalise(emotions)
    s = settings
    if s.smoothing_enabled:
        core = smooth(core, s.smoothing)
    if s.contrast_enabled and s.contrast != 1.0:
        core = contrast(core, s.contrast)
    if s.strength_enabled:
        core = apply_strengths(core, np.array(s.strengths))
    if s.prior_enabled and s.prior_strength > 0:
        core = blend_prior(core, s.prior_emotion, s.prior_strength)
    if s.threshold_enabled:
        core = threshold(core, s.threshold)
    if s.max_emotions_enabled:
        core = keep_top(core, s.max_emotions)
    return np.hstack([core * (1.0 - extra_share), extras])
