"""The VQ enhancer: shapes, losses, save/load, chunked enhancement, adversarial step,
training with resume across the teacher/student switch, and the ``enhance`` CLI."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from emotrack.cli import enhance as enhance_cli
from emotrack.errors import AudioError, ModelError, ParameterError
from emotrack.ml.quality import enhancement_training
from emotrack.ml.quality.enhancement import (
    EnhancementConfig,
    SpeechEnhancer,
    VQEnhancerModel,
    spectral_convergence,
)

from .conftest import SAMPLE_RATE, harmonic_speech


@pytest.fixture
def tiny_enhancement_config() -> EnhancementConfig:
    return EnhancementConfig(hidden_channels=(16, 16, 8, 8), codebook_size=16, codebook_dim=8,
                             kmeans_iterations=2, transformer_heads=2,
                             transformer_feedforward=16, transformer_layers=1)


@pytest.fixture
def tiny_enhancer(tiny_enhancement_config) -> VQEnhancerModel:
    torch.manual_seed(0)
    model = VQEnhancerModel(tiny_enhancement_config).train()
    clean = torch.from_numpy(np.stack([harmonic_speech(0.5, s) for s in range(2)]))
    model(clean, target=clean)  # k-means init
    return model.eval()


def test_reference_defaults():
    model = VQEnhancerModel(EnhancementConfig())
    assert [c.out_channels for c in model.encoder.convs] == [200, 200, 150, 150, 128, 128]
    assert model.quantizer.embed.shape == (4096, 128)
    assert len(model.encoder.transformer.layers) == 2


def test_forward_losses_and_shapes(tiny_enhancement_config):
    model = VQEnhancerModel(tiny_enhancement_config).train()
    clean = torch.from_numpy(np.stack([harmonic_speech(0.5, s) for s in range(2)]))
    out = model(clean, target=clean)
    frames = 1 + 8000 // tiny_enhancement_config.hop_length
    assert out["enhanced_log_magnitude"].shape == (2, 257, frames)
    assert out["code_similarity"].shape == (2, frames, 16)
    expected = 45 * out["spectral_convergence"] + 3 * out["commitment_loss"]
    assert torch.isclose(out["loss"], expected)
    out["loss"].backward()


def test_spectral_convergence_formula():
    target = torch.ones(1, 4, 5)
    assert spectral_convergence(target, target) == pytest.approx(0.0)
    assert spectral_convergence(torch.zeros(1, 4, 5), target) == pytest.approx(1.0, abs=1e-6)


def _stft_magnitude(signal: np.ndarray) -> np.ndarray:
    window = torch.hann_window(512)
    return torch.stft(torch.from_numpy(signal), 512, 128, window=window,
                      return_complex=True).abs().numpy()


def test_gain_output_only_attenuates_and_decoded_output_replaces(tiny_enhancer):
    rng = np.random.default_rng(0)
    noisy = (harmonic_speech(1.0, 5) + 0.05 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    gain = SpeechEnhancer(tiny_enhancer, output="gain").enhance(noisy)
    decoded = SpeechEnhancer(tiny_enhancer, output="decoded").enhance(noisy)
    # A gain <= 1 per bin: no bin of the output is louder than the input's (up to the
    # overlap-add's smearing), and the total energy cannot grow.
    assert np.sum(gain ** 2) <= np.sum(noisy ** 2)
    assert np.quantile(_stft_magnitude(gain) - _stft_magnitude(noisy), 0.99) < 1e-2
    assert not np.allclose(gain, decoded, atol=1e-3)
    with pytest.raises(ParameterError, match="gain, decoded"):
        SpeechEnhancer(tiny_enhancer, output="louder")


def test_save_load_and_chunked_enhance(tiny_enhancer, tmp_path, monkeypatch):
    tiny_enhancer.save_pretrained(tmp_path)
    loaded = SpeechEnhancer.from_pretrained(tmp_path, device="cpu")
    signal = harmonic_speech(1.3, 4)
    whole = loaded.enhance(signal)
    assert whole.shape == signal.shape and np.all(np.isfinite(whole))
    np.testing.assert_allclose(whole, SpeechEnhancer(tiny_enhancer).enhance(signal), atol=1e-5)
    monkeypatch.setattr(SpeechEnhancer, "CHUNK_SECONDS", 0.5)
    monkeypatch.setattr(SpeechEnhancer, "OVERLAP_SECONDS", 0.1)
    chunked = loaded.enhance(signal)
    assert chunked.shape == signal.shape and np.all(np.isfinite(chunked))
    with pytest.raises(AudioError):
        loaded.enhance(np.zeros(0, np.float32))
    with pytest.raises(ModelError):
        SpeechEnhancer.from_pretrained(tmp_path / "missing", device="cpu")


def test_adversarial_noise_has_the_requested_ratio(tiny_enhancer):
    clean = torch.from_numpy(np.stack([harmonic_speech(0.5, s) for s in range(2)]))
    targets = tiny_enhancer(clean)["indices"]
    ratios = torch.tensor([0.1, 0.5])
    noisy = enhancement_training.adversarial_input(tiny_enhancer, clean, targets, 10.0, ratios)
    measured = (noisy - clean).norm(dim=1) / clean.norm(dim=1)
    assert torch.allclose(measured, ratios, atol=1e-4)


def test_training_switches_to_student_and_resumes(tmp_path, tiny_enhancement_config):
    data = tmp_path / "clean"
    data.mkdir()
    for speaker in range(12):
        sf.write(data / f"{200 + speaker}-1-0000.wav", harmonic_speech(1.0, speaker), SAMPLE_RATE)
    config_path = tmp_path / "tiny.json"
    config_path.write_text(json.dumps(tiny_enhancement_config.to_dict()))
    parser = argparse.ArgumentParser()
    enhancement_training.add_arguments(parser)
    out = tmp_path / "enhancer"
    common = ["--data", str(data), "--out", str(out), "--config", str(config_path),
              "--batch-size", "2", "--crop-seconds", "0.5", "--checkpoint-every", "1",
              "--steps", "1"]
    assert enhancement_training.run(parser.parse_args(common + ["--adversarial-steps", "1"])) == 0
    teacher = VQEnhancerModel.from_pretrained(out / "teacher")
    student = VQEnhancerModel.from_pretrained(out)
    # The quantiser is frozen in the adversarial phase: codes stay the teacher's.
    assert torch.equal(teacher.quantizer.embed, student.quantizer.embed)
    assert enhancement_training.run(
        parser.parse_args(common + ["--adversarial-steps", "2", "--resume"])) == 0
    state = torch.load(out / "checkpoint" / enhancement_training.STATE_NAME, weights_only=False)
    assert state["step"] == 3
    assert torch.equal(teacher.quantizer.embed, VQEnhancerModel.from_pretrained(out).quantizer.embed)


def test_enhance_cli_writes_audio(tiny_enhancer, tmp_path):
    model_dir = tmp_path / "model"
    tiny_enhancer.save_pretrained(model_dir)
    source, target = tmp_path / "in.wav", tmp_path / "out.flac"
    sf.write(source, harmonic_speech(1.0), SAMPLE_RATE)
    parser = argparse.ArgumentParser()
    enhance_cli.register(parser.add_subparsers())
    args = parser.parse_args(["enhance", str(source), "-o", str(target), "--model",
                              str(model_dir), "--device", "cpu"])
    assert args.func(args, []) == 0
    written, rate = sf.read(target)
    assert rate == SAMPLE_RATE and written.shape == (SAMPLE_RATE,)
