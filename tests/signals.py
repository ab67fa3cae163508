"""Generated test audio shared by the suite (importable from any test folder: pytest
puts tests/ on sys.path with its top-level conftest)."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000


def speech_like(seconds: float, rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """Harmonic bursts with a wobbling pitch and syllable-rate envelope: speech-shaped
    enough for VAD and models, without needing a synthesiser."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 0.5
    return (0.25 * voiced * envelope + 0.003 * rng.standard_normal(len(t))).astype(np.float32)
