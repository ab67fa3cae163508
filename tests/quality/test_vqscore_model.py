"""The VQScore model: shapes, cosine scoring, codebook init/updates, save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from emotrack.errors import AudioError, ModelError
from emotrack.ml.quality.vqscore import (
    CosineCodebook,
    QualityEstimator,
    VQScoreConfig,
    VQScoreModel,
    cosine_kmeans,
)

from .conftest import harmonic_speech


def codebook_for(config: VQScoreConfig) -> CosineCodebook:
    return CosineCodebook(config.codebook_size, config.codebook_dim, config.ema_decay,
                          config.kmeans_iterations, config.commitment_weight)


def test_forward_shapes_and_losses(tiny_config):
    model = VQScoreModel(tiny_config).train()
    batch = torch.from_numpy(np.stack([harmonic_speech(1.0, s) for s in range(3)]))
    out = model(batch)
    frames = 1 + 16000 // tiny_config.hop_length  # centred STFT
    assert out["magnitude"].shape == (3, tiny_config.n_bins, frames)
    assert out["reconstruction"].shape == out["magnitude"].shape
    assert out["frame_cosine"].shape == (3, frames)
    assert out["indices"].shape == (3, frames)
    assert torch.all(out["reconstruction"] >= 0)
    expected = (-tiny_config.reconstruction_weight * out["reconstruction_cosine"]
                + out["commitment_loss"])
    assert torch.isclose(out["loss"], expected)
    out["loss"].backward()
    assert model.encoder.convs[0].weight.grad is not None
    assert model.encoder.convs[0].weight.grad.abs().sum() > 0


def test_reference_architecture_defaults():
    config = VQScoreConfig()
    model = VQScoreModel(config)
    widths = [conv.out_channels for conv in model.encoder.convs]
    assert widths == [128, 128, 64, 64, 32, 32]
    assert [conv.kernel_size[0] for conv in model.encoder.convs] == [7] * 6
    assert model.decoder.convs[-1].out_channels == 257
    assert model.quantizer.embed.shape == (2048, 32)


def test_frame_scores_are_cosines_of_nearest_codes(tiny_model):
    waveform = torch.from_numpy(harmonic_speech(1.0, 5))[None]
    scores = tiny_model.frame_scores(waveform)
    latents = tiny_model.encoder(tiny_model(waveform)["magnitude"])
    by_hand = (F.normalize(latents, dim=1).transpose(1, 2)
               @ tiny_model.quantizer.embed.T).max(dim=-1).values
    assert torch.allclose(scores, by_hand, atol=1e-5)
    assert torch.all(scores <= 1 + 1e-6) and torch.all(scores >= -1 - 1e-6)


def test_kmeans_init_on_first_training_batch(tiny_config):
    codebook = codebook_for(tiny_config).train()
    assert not bool(codebook.initialized)
    latents = torch.randn(2, tiny_config.codebook_dim, 50)
    codebook(latents)
    assert bool(codebook.initialized)
    norms = codebook.embed.norm(dim=1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    # Every centroid is a normalised mean of data points, so lies within the data's cone.
    unit = F.normalize(latents.transpose(1, 2).reshape(-1, tiny_config.codebook_dim), dim=1)
    assert (codebook.embed @ unit.T).max(dim=1).values.min() > 0.3


def test_cosine_kmeans_separates_clear_clusters():
    centres = F.normalize(torch.eye(4), dim=1)
    points = F.normalize(centres.repeat_interleave(25, 0) + 0.05 * torch.randn(100, 4), dim=1)
    centroids, sizes = cosine_kmeans(points, 4, 10, torch.Generator().manual_seed(0))
    assert sizes.sum() == 100
    assert (centroids @ centres.T).max(dim=0).values.min() > 0.95


def test_ema_update_moves_codebook_and_eval_does_not(tiny_config):
    codebook = codebook_for(tiny_config).train()
    codebook(torch.randn(2, tiny_config.codebook_dim, 40))
    before = codebook.embed.clone()
    codebook(torch.randn(2, tiny_config.codebook_dim, 40) + 2.0)
    assert not torch.allclose(before, codebook.embed)
    after_training = codebook.embed.clone()
    codebook.eval()
    codebook(torch.randn(2, tiny_config.codebook_dim, 40) - 2.0)
    assert torch.equal(after_training, codebook.embed)


def test_save_load_round_trip(tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["codebook_size"] == 16
    loaded = VQScoreModel.from_pretrained(tmp_path)
    assert loaded.config == tiny_model.config
    assert bool(loaded.quantizer.initialized)
    signal = harmonic_speech(1.5, 9)
    original = QualityEstimator(tiny_model).score(signal)
    reloaded = QualityEstimator.from_pretrained(tmp_path, device="cpu").score(signal)
    np.testing.assert_allclose(original.frame_scores, reloaded.frame_scores, atol=1e-6)
    assert original.vqscore == pytest.approx(reloaded.vqscore, abs=1e-6)


def test_from_pretrained_missing_dir_is_model_error(tmp_path):
    with pytest.raises(ModelError):
        VQScoreModel.from_pretrained(tmp_path / "nothing")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelError):
        VQScoreModel.from_pretrained(tmp_path)


def test_score_shapes_times_and_errors(tiny_model):
    estimator = QualityEstimator(tiny_model)
    result = estimator.score(harmonic_speech(2.0))
    assert result.frame_scores.shape == result.frame_times.shape
    assert result.frame_times[1] - result.frame_times[0] == pytest.approx(256 / 16000)
    assert result.vqscore == pytest.approx(result.frame_scores.mean())
    assert -1.0 <= result.vqscore <= 1.0
    for bad in (np.zeros(0, np.float32), np.full(1000, np.nan, np.float32),
                np.zeros((2, 1000), np.float32)):
        with pytest.raises(AudioError):
            estimator.score(bad)
