"""EmotionModel loading, label order and windowed inference; a training smoke run.

Models here are tiny random-init wav2vec2 classifiers written to tmp_path: no shared
data, no downloads.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

from emotrack.core.emotions import EMOTIONS
from emotrack.errors import ModelError, ParameterError
from emotrack.ml.device import autocast, resolve_device
from emotrack.core.windowing import window_starts
from emotrack.ml.emotion import EmotionModel
from emotrack.ml.emotion import training

RATE = 16000
# Checkpoint order and spelling differ from the app's on purpose; "surprised" is extra.
CHECKPOINT_LABELS = {0: "angry", 1: "happy", 2: "sad", 3: "neu", 4: "surprised"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        conv_dim=(8, 8, 8), conv_kernel=(10, 3, 3), conv_stride=(5, 4, 4), hidden_size=16,
        num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2, classifier_proj_size=8, num_labels=len(CHECKPOINT_LABELS),
        id2label=CHECKPOINT_LABELS, label2id={v: k for k, v in CHECKPOINT_LABELS.items()},
    )
    directory = tmp_path_factory.mktemp("emotion_checkpoint")
    Wav2Vec2ForSequenceClassification(config).save_pretrained(directory)
    Wav2Vec2FeatureExtractor(sampling_rate=RATE, do_normalize=True).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def model(model_dir) -> EmotionModel:
    return EmotionModel.from_pretrained(model_dir, device="cpu")


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32)


def test_labels_are_canonical_in_app_order_with_extras_kept(model):
    assert model.labels == ["anger", "joy", "neutral", "sadness", "surprised"]
    assert model.sample_rate == RATE
    assert model.device == torch.device("cpu")


def test_columns_follow_labels(model):
    windows = np.stack([noise(0.2, seed) for seed in range(3)])
    # predict normalises each window (zero mean, unit variance) before the network.
    normalised = (windows - windows.mean(1, keepdims=True)) / windows.std(1, keepdims=True)
    with torch.inference_mode():
        logits = model.model(input_values=torch.from_numpy(normalised.astype(np.float32))).logits
    expected = torch.softmax(logits, dim=1)[:, [0, 1, 3, 2, 4]].numpy()
    np.testing.assert_allclose(model.predict(windows), expected, atol=1e-5)


def test_probabilities_sum_to_one(model):
    probabilities = model.predict(np.stack([noise(0.3, seed) for seed in range(5)]))
    assert probabilities.shape == (5, 5)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_batch_size_does_not_change_results(model):
    windows = np.stack([noise(0.1, seed) for seed in range(5)])
    reference = model.predict(windows, batch_size=5)
    for batch_size in (2, 3):
        np.testing.assert_allclose(model.predict(windows, batch_size=batch_size), reference, atol=1e-5)


def test_predict_windows_matches_explicit_slices_and_pads_the_last(model):
    samples = noise(1.05)
    window, hop = 4800, 2400
    starts = window_starts(len(samples), window, hop)
    assert list(starts) == [0, 2400, 4800, 7200, 9600, 12000]  # the last runs 0.3 s past the end
    explicit = np.zeros((len(starts), window), dtype=np.float32)
    for row, start in enumerate(starts):
        piece = samples[start:start + window]
        explicit[row, :len(piece)] = piece
    calls = []
    lazy = model.predict_windows(samples, starts, window, batch_size=4,
                                 progress=lambda done, total: calls.append((done, total)))
    np.testing.assert_allclose(lazy, model.predict(explicit), atol=1e-5)
    assert calls == [(4, 6), (6, 6)]

    before_start = np.zeros((1, window), dtype=np.float32)
    before_start[0, 1000:] = samples[:window - 1000]
    np.testing.assert_allclose(model.predict_windows(samples, [-1000], window), model.predict(before_start),
                               atol=1e-5)


def test_classify_averages_window_probabilities(model):
    samples = noise(1.0, seed=3)
    starts = window_starts(len(samples), 4800, 2400)
    expected = model.predict_windows(samples, starts, 4800).mean(axis=0)
    np.testing.assert_allclose(model.classify(samples, window=4800, hop=2400), expected, atol=1e-6)
    short = model.classify(noise(0.1), window=4800, hop=2400)  # shorter than one window
    np.testing.assert_allclose(short.sum(), 1.0, atol=1e-5)


def test_classify_leaves_out_the_silent_windows(model):
    speech = noise(1.0, seed=4)
    padded = np.concatenate([np.zeros(RATE, np.float32), speech, np.zeros(RATE, np.float32)])
    starts = window_starts(len(padded), 4800, 2400)
    probabilities = model.predict_windows(padded, starts, 4800)
    clip = model.classify(padded, window=4800, hop=2400)
    # A window votes when at least 30 % of it is speech (the keyframe rule); at this hop
    # every window's share is 0, 1/6, 2/3 or 1, far from the edge.
    share = (np.minimum(starts + 4800, 2 * RATE) - np.maximum(starts, RATE)).clip(0) / 4800
    votes = share >= 0.3
    assert 0 < votes.sum() < len(starts)
    np.testing.assert_allclose(clip, probabilities[votes].mean(axis=0), atol=1e-6)


def test_missing_or_incomplete_folder_is_a_model_error(tmp_path, model_dir):
    with pytest.raises(ModelError, match="not found"):
        EmotionModel.from_pretrained(tmp_path / "nowhere", device="cpu")
    with pytest.raises(ModelError, match="config.json"):
        EmotionModel.from_pretrained(tmp_path, device="cpu")
    (tmp_path / "config.json").write_text((model_dir / "config.json").read_text())
    with pytest.raises(ModelError, match="no weights"):
        EmotionModel.from_pretrained(tmp_path, device="cpu")


def test_device_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ParameterError, match="unknown device"):
        resolve_device("tpu0")
    with pytest.raises(ParameterError, match="unsupported device"):
        resolve_device("meta")
    if torch.cuda.is_available():
        with pytest.raises(ParameterError, match="does not exist"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    else:
        for name in ("cuda", "cuda:1"):
            with pytest.raises(ParameterError, match="CUDA is not available"):
                resolve_device(name)
    with autocast(torch.device("cpu")):
        assert torch.ones(2, 2) @ torch.ones(2, 2) is not None
        assert not torch.is_autocast_enabled("cpu")


def train_args(data: Path, out: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    training.add_arguments(parser)
    return parser.parse_args([
        "--data", str(data), "--out", str(out), "--val-speakers", "spk_b", "--threads", "1",
        "--batch-size", "4", "--steps-per-epoch", "2", "--window", "3200", "--hidden-size", "32",
        "--layers", "1", *extra,
    ])


def test_training_checkpoints_and_resumes(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert training.run(train_args(tiny_corpus, out, "--epochs", "1")) == 0
    first = torch.load(out / training.CHECKPOINT_FILE, weights_only=False)
    assert first["epoch"] == 1
    assert set(first) >= {"model", "optimizer", "scheduler", "numpy_rng", "torch_rng", "best_macro_f1"}

    assert training.run(train_args(tiny_corpus, out, "--epochs", "2", "--resume")) == 0
    log = capsys.readouterr().err
    assert "resuming after epoch 1" in log and "epoch 2/2" in log
    second = torch.load(out / training.CHECKPOINT_FILE, weights_only=False)
    assert second["epoch"] == 2
    assert any(not torch.equal(first["model"][k], second["model"][k]) for k in first["model"])

    best = EmotionModel.from_pretrained(out / training.BEST_DIR, device="cpu")
    assert best.labels == ["anger", "joy", "neutral"]  # "happy" stored as the app's "joy"
    report = json.loads((out / training.VALIDATION_FILE).read_text())
    assert report["validation_speakers"] == ["spk_b"] and report["clips"] == 6
    assert len(report["confusion"]) == 3


def test_training_rejects_unknown_validation_speaker_and_missing_checkpoint(tiny_corpus, tmp_path):
    with pytest.raises(ParameterError, match="spk_x"):
        training.run(train_args(tiny_corpus, tmp_path / "a", "--val-speakers", "spk_x"))
    with pytest.raises(ParameterError, match="--resume"):
        training.run(train_args(tiny_corpus, tmp_path / "b", "--resume"))


def test_evaluation_figures():
    evaluation = training.Evaluation(["anger", "joy"], np.array([[3, 1], [0, 4]]))
    assert evaluation.accuracy == pytest.approx(7 / 8)
    assert evaluation.per_class_accuracy == {"anger": 0.75, "joy": 1.0}
    assert evaluation.macro_f1 == pytest.approx((6 / 7 + 8 / 9) / 2)


@pytest.mark.parametrize("name", ["accurate", "fast"])
def test_bundled_model_loads_and_classifies(name):
    model = EmotionModel.from_pretrained(name, device="cpu")
    assert model.labels == list(EMOTIONS)
    # Stored as fp16 to keep the repository small; inference runs in fp32 on the CPU.
    assert all(p.dtype == torch.float32 for p in model.model.parameters())
    # Both read the Whisper base encoder, with calibrated probabilities: the accurate
    # model (the default) its layers 1-4, the fast one its first two.
    assert model.whisper is not None and model.temperature != 1.0
    assert model.encoder_layers() == {"accurate": 4, "fast": 2}[name]
    assert model.actor_head is not None and model.voice_space is not None
    if name == "accurate":
        assert EmotionModel.from_pretrained(device="cpu").whisper is not None
    probabilities = model.classify(noise(2.0))
    assert probabilities.shape == (len(EMOTIONS),)
    np.testing.assert_allclose(probabilities.sum(), 1.0, atol=1e-5)
