"""Fixtures for the quality tests: a tiny VQScore config and speech-like signals.

Nothing here reads ../shared/data; audio is synthesised (harmonics, or espeak-ng through
the root conftest's ``speech_wav``).
"""

from __future__ import annotations

import numpy as np
import pytest

from emotrack.ml.quality.vqscore import VQScoreConfig, VQScoreModel

SAMPLE_RATE = 16_000


def harmonic_speech(seconds: float, seed: int = 0) -> np.ndarray:
    """Voiced bursts with a gliding pitch, formant-like harmonic weights and syllable gaps."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 120 + 40 * np.sin(2 * np.pi * (0.5 + rng.random()) * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voiced = sum(np.sin(k * phase) * np.exp(-((k * 130 - 700) / 500) ** 2) for k in range(1, 25))
    envelope = np.clip(np.sin(2 * np.pi * 3.5 * t + rng.random()), 0, None) ** 0.5
    return (0.2 * voiced * envelope + 1e-3 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture
def tiny_config() -> VQScoreConfig:
    return VQScoreConfig(hidden_channels=(16, 16, 8, 8), codebook_size=16, codebook_dim=8,
                         kmeans_iterations=3)


@pytest.fixture
def tiny_model(tiny_config) -> VQScoreModel:
    import torch

    torch.manual_seed(0)
    model = VQScoreModel(tiny_config).train()
    # One forward in training mode runs the k-means init, as training would.
    model(torch.from_numpy(np.stack([harmonic_speech(1.0, s) for s in range(2)])))
    return model.eval()
