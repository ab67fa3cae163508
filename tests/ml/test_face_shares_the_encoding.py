"""The face listens with the emotion model's encoder, reads the chunks the analysis has
just encoded, and evaluates one frame as the whole clip does."""

from __future__ import annotations

import numpy as np

from emotrack.core.emotions import EMOTIONS
from emotrack.ml.whisper.encoder import MEMO_CHUNKS


def emotions_at(times: np.ndarray) -> np.ndarray:
    """Emotions that change over time, so that a wrong frame offset would show."""
    phase = np.asarray(times)[:, None] * (1 + np.arange(len(EMOTIONS)))
    values = 1.1 + np.sin(phase)
    return values / values.sum(axis=1, keepdims=True)


def test_face_features_after_the_analysis_encode_nothing_again(tiny_face_loader, monkeypatch):
    animator = tiny_face_loader()
    clip_encoder = animator.encoder.clip_encoder
    samples = np.random.default_rng(0).normal(0, 0.1, 16000 * 3).astype(np.float32)
    assert 3 <= MEMO_CHUNKS  # the tiny model's 1 s chunks: a 3 s line fits in the memo
    model = animator.encoder_model
    starts = np.arange(0, len(samples) - 8000, 4000)
    model.predict_windows(samples, starts, 8000, 8)  # the emotion analysis
    calls = []
    forward = clip_encoder.forward_chunks
    monkeypatch.setattr(clip_encoder, "forward_chunks", lambda *a, **k: calls.append(1) or forward(*a, **k))
    animator.features(samples)
    assert calls == []


def test_one_frame_costs_a_few_network_frames_and_equals_the_whole_clip(tiny_face_loader):
    animator = tiny_face_loader()
    samples = np.random.default_rng(1).normal(0, 0.1, 16000 * 4).astype(np.float32)
    features = animator.features(samples)
    times = np.arange(0, 4, 1 / 30)
    whole = animator.weights(features, emotions_at, times)
    for frame in (0, 1, 47, 60, len(times) - 1):
        np.testing.assert_allclose(animator.weights(features, emotions_at, times[frame:frame + 1])[0],
                                   whole[frame], atol=1e-5)
    np.testing.assert_allclose(animator.weights(features, emotions_at, times[30:45]), whole[30:45], atol=1e-5)
    assert animator.weights(features, emotions_at, np.zeros(0)).shape == (0, 52)
