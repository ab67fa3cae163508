"""Whether probabilities mean what they say: temperature scaling and calibration error.

A clip's probabilities are the mean of its speech windows' softmax outputs (as
``WindowProbabilities.clip_vector`` combines them), so the temperature is fitted on
that clip-level quantity, not on single windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


def clip_probabilities(window_logits: Sequence[np.ndarray], temperature: float) -> np.ndarray:
    """``[clips, labels]``: each clip's mean window probability at ``temperature``."""
    return np.stack([softmax(logits, temperature).mean(axis=0) for logits in window_logits])


def fit_temperature(window_logits: Sequence[np.ndarray], truth: np.ndarray,
                    bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The temperature that minimises the clips' negative log-likelihood (a golden-section
    search on log T; the NLL of a mean of softmaxes is smooth and unimodal in practice)."""
    if len(window_logits) == 0:
        raise ValueError("no clips to fit a temperature on")
    truth = np.asarray(truth)

    def nll(log_t: float) -> float:
        p = clip_probabilities(window_logits, float(np.exp(log_t)))
        return float(-np.mean(np.log(p[np.arange(len(truth)), truth] + 1e-12)))

    low, high = np.log(bounds[0]), np.log(bounds[1])
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(b)
    return float(np.exp((low + high) / 2.0))


@dataclass(frozen=True)
class Reliability:
    """Confidence bins: mean confidence, accuracy and count per bin."""

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray

    @property
    def expected_calibration_error(self) -> float:
        """Count-weighted mean |accuracy - confidence| over the non-empty bins."""
        used = self.count > 0
        if not used.any():
            return 0.0
        gaps = np.abs(self.accuracy[used] - self.confidence[used])
        return float(np.sum(gaps * self.count[used]) / self.count.sum())


def reliability(probabilities: np.ndarray, truth: np.ndarray, bins: int = 10) -> Reliability:
    """Top-label reliability of ``probabilities`` ``[n, labels]`` in ``bins`` equal-width bins."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(truth)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_confidence = np.bincount(which, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(which, weights=correct.astype(float), minlength=bins) / count
    return Reliability(edges, np.nan_to_num(mean_confidence), np.nan_to_num(accuracy), count)
