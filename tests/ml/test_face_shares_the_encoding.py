"""The face listens with the emotion model's encoder, reads the chunks the analysis has
just encoded, and evaluates one frame as the whole clip does."""

from __future__ import annotations

import numpy as np
import torch

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
    runs = []
    hooks = [layer.register_forward_hook(lambda *_: runs.append(1)) for layer in clip_encoder.encoder.layers]
    forward = clip_encoder.forward_chunks
    monkeypatch.setattr(clip_encoder, "forward_chunks", lambda *a, **k: runs.append(1) or forward(*a, **k))
    try:
        animator.features(samples)
    finally:
        for hook in hooks:
            hook.remove()
    assert runs == []


def test_the_face_runs_only_the_layers_an_analysis_left_out(tiny_face_loader):
    """An analysis stops at the deepest layer its heads read; the face, which reads every
    layer, continues from the states the analysis left in the memo."""
    animator = tiny_face_loader()
    clip_encoder = animator.encoder.clip_encoder
    clip_encoder.forget()
    samples = np.random.default_rng(2).normal(0, 0.1, 16000 * 2).astype(np.float32)
    n_layers = len(clip_encoder.encoder.layers)
    runs = []
    hooks = [layer.register_forward_hook(lambda *_, index=index: runs.append(index))
             for index, layer in enumerate(clip_encoder.encoder.layers)]
    try:
        with torch.inference_mode():  # as an analysis whose heads read layer 1
            animator.encoder.encode(samples, n_layers=1)
        shallow = list(runs)
        features = animator.features(samples)
    finally:
        for hook in hooks:
            hook.remove()
    chunks = shallow.count(0)
    assert chunks >= 2 and set(shallow) == {0}
    assert sorted(runs[len(shallow):]) == sorted(list(range(1, n_layers)) * chunks)  # never layer 0 again
    clip_encoder.forget()
    np.testing.assert_allclose(animator.features(samples).numpy(), features.numpy(), atol=1e-5)


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
