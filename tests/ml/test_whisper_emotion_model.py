"""EmotionModel on a Whisper classifier checkpoint (the encode-once, pool-windows path),
with a tiny random-init WhisperForAudioClassification saved to tmp."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from transformers import WhisperFeatureExtractor

from emotrack.core.emotions import EMOTIONS
from emotrack.core.windowing import window_starts
from emotrack.ml.emotion import EmotionModel
from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW
from tiny_whisper import noise, whisper_classifier



def save_checkpoint(directory: Path, temperature: float | None = None) -> Path:
    whisper_classifier().save_pretrained(directory)
    WhisperFeatureExtractor(feature_size=80, chunk_length=1).save_pretrained(directory)
    if temperature is not None:
        config = json.loads((directory / "config.json").read_text())
        config["emotrack_temperature"] = temperature
        (directory / "config.json").write_text(json.dumps(config))
    return directory


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("whisper_emotion"))


@pytest.fixture(scope="module")
def model(model_dir) -> EmotionModel:
    return EmotionModel.from_pretrained(model_dir, device="cpu")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return noise(4.3, seed=11)  # more than four 1 s chunks, with a runt at the end


def test_whisper_checkpoint_loads_with_the_six_emotions(model):
    assert model.whisper is not None
    assert model.labels == list(EMOTIONS)
    assert model.temperature == 1.0
    assert model.whisper.clip_encoder.max_frames == 50


def test_window_probabilities_are_distributions(model, clip):
    starts = window_starts(len(clip), DEFAULT_WINDOW, DEFAULT_HOP)
    probabilities = model.predict_windows(clip, starts, DEFAULT_WINDOW)
    assert probabilities.shape == (len(starts), 6)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.ptp(probabilities, axis=0).max() > 0  # windows do differ


def test_window_probabilities_do_not_depend_on_how_starts_are_grouped(model):
    # 9 s: predict_windows encodes at most 4 chunks (4 s) at a time, so this takes groups.
    samples = noise(9.1, seed=12)
    starts = window_starts(len(samples), DEFAULT_WINDOW, DEFAULT_HOP)
    together = model.predict_windows(samples, starts, DEFAULT_WINDOW)
    for pieces in ([starts[i:i + 1] for i in range(len(starts))], np.array_split(starts, 3)):
        separately = np.concatenate([model.predict_windows(samples, piece, DEFAULT_WINDOW) for piece in pieces])
        np.testing.assert_allclose(separately, together, atol=1e-5)


def test_progress_reaches_the_total(model, clip):
    starts = window_starts(len(clip), DEFAULT_WINDOW, DEFAULT_HOP)
    calls = []
    model.predict_windows(clip, starts, DEFAULT_WINDOW, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(starts), len(starts))


def test_classify_a_clip_of_several_chunks(model, clip):
    probabilities = model.classify(clip)
    assert probabilities.shape == (6,)
    assert np.isfinite(probabilities).all()
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_predict_on_separate_windows(model, clip):
    windows = np.stack([clip[i * 8000:i * 8000 + DEFAULT_WINDOW] for i in range(3)])
    probabilities = model.predict(windows, batch_size=2)
    assert probabilities.shape == (3, 6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # Each row is its window encoded alone: the same as a one-window prediction on it.
    alone = model.predict_windows(windows[1], [0], DEFAULT_WINDOW)
    np.testing.assert_allclose(probabilities[1], alone[0], atol=1e-5)


def test_temperature_flattens_probabilities_without_changing_the_argmax(tmp_path, model, clip):
    hot = EmotionModel.from_pretrained(save_checkpoint(tmp_path / "hot", temperature=3.0), device="cpu")
    assert hot.temperature == 3.0
    starts = window_starts(len(clip), DEFAULT_WINDOW, DEFAULT_HOP)
    cold_p = model.predict_windows(clip, starts, DEFAULT_WINDOW)
    hot_p = hot.predict_windows(clip, starts, DEFAULT_WINDOW)
    assert np.all(hot_p.max(axis=1) < cold_p.max(axis=1))
    np.testing.assert_array_equal(hot_p.argmax(axis=1), cold_p.argmax(axis=1))
    # Exactly softmax(logits / 3): recover the logits up to a constant from the cold ones.
    logits = np.log(cold_p.astype(np.float64))
    expected = np.exp(logits / 3.0)
    np.testing.assert_allclose(hot_p, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)


def test_an_analysis_runs_only_the_encoder_layers_its_heads_read(tmp_path, clip):
    import torch

    from emotrack.ml.whisper.encoder import WhisperClipEncoder

    classifier = whisper_classifier(seed=3, encoder_layers=3)
    with torch.no_grad():  # the head reads hidden state 1 alone, as the bundled head reads state 3 of 6
        classifier.layer_weights.copy_(torch.tensor([-1e4, 0.0, -1e4, -1e4]))
    classifier.save_pretrained(tmp_path)
    WhisperFeatureExtractor(feature_size=80, chunk_length=1).save_pretrained(tmp_path)
    model = EmotionModel.from_pretrained(tmp_path, device="cpu")
    assert model.whisper.layers_read() == 1 and model.encoder_layers() == 1
    runs = []
    for index, layer in enumerate(model.whisper.clip_encoder.encoder.layers):
        layer.register_forward_hook(lambda *_, index=index: runs.append(index))
    starts = window_starts(len(clip), DEFAULT_WINDOW, DEFAULT_HOP)
    probabilities = model.predict_windows(clip, starts, DEFAULT_WINDOW)
    assert set(runs) == {0}
    # The same as reading the full encoding of a separate encoder (no shared memo).
    full = WhisperClipEncoder(model.whisper.model.encoder, model.whisper.clip_encoder.mel_filters.T.numpy())
    with torch.inference_mode():
        encoding = full.encode(clip, 0, int(starts[-1]) + DEFAULT_WINDOW)
        assert encoding.hidden_states.shape[0] == 4
        logits = model.whisper.logits_from_encoding(encoding, starts, DEFAULT_WINDOW)
    np.testing.assert_allclose(probabilities, model._probabilities(logits), atol=1e-5)


def test_an_encoding_without_the_layers_the_head_weighs_is_refused(model, clip):
    import torch

    with torch.inference_mode():
        shallow = model.whisper.encode(clip[:16000], n_layers=1)
        assert model.whisper.layers_read() == 2  # the tiny head weighs every layer
        with pytest.raises(ValueError, match="reads 2 encoder layers"):
            model.whisper.frame_features(shallow)


def test_a_one_layer_checkpoint_head_folds_into_a_plain_head_with_the_same_outputs(tmp_path, clip):
    import torch

    from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER, plain_head_from_checkpoint

    classifier = whisper_classifier(seed=4)
    with torch.no_grad():
        classifier.layer_weights.copy_(torch.tensor([-1e4, 0.0, -1e4]))
    classifier.save_pretrained(tmp_path / "checkpoint")
    WhisperFeatureExtractor(feature_size=80, chunk_length=1).save_pretrained(tmp_path / "checkpoint")
    checkpoint = EmotionModel.from_pretrained(tmp_path / "checkpoint", device="cpu")
    head = plain_head_from_checkpoint(checkpoint.whisper.model, temperature=0.8)
    assert head.config.layers == (1,) and head.config.temperature == 0.8
    head.save_pretrained(tmp_path / "checkpoint" / PLAIN_FOLDER)
    folded = EmotionModel.from_pretrained(tmp_path / "checkpoint", device="cpu")
    assert folded.plain_head is not None and folded.temperature == 0.8
    checkpoint.temperature = 0.8
    np.testing.assert_allclose(folded.classify(clip), checkpoint.classify(clip), atol=1e-5)
    mixed = whisper_classifier(seed=5)  # every layer weighed: nothing to fold
    with pytest.raises(ValueError, match="several layers"):
        plain_head_from_checkpoint(mixed, temperature=1.0)
