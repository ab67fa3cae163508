"""The Whisper emotion trainer on a toy corpus: head-only and top-layer fine-tuning,
resuming, calibration, and that test speakers are never read."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from emotrack.errors import ParameterError
from emotrack.ml.emotion import whisper_training
from emotrack.ml.emotion.data import LabelledClip
from emotrack.ml.emotion.modeling import EmotionModel



def whisper_args(encoder: Path, data: Path, out: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    whisper_training.add_arguments(parser)
    return parser.parse_args([
        "--encoder", str(encoder), "--data", str(data), "--out", str(out), "--chunk-seconds", "1",
        "--copies", "2", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4", "--threads", "1",
        "--projection", "8", "--test-speakers", "--val-speakers", "spk_b", *extra,
    ])


def test_head_only_training_writes_a_calibrated_loadable_model(tiny_whisper_model_dir, tiny_corpus, tmp_path):
    out = tmp_path / "run"
    assert whisper_training.run(whisper_args(tiny_whisper_model_dir, tiny_corpus, out)) == 0
    model = EmotionModel.from_pretrained(out / "best", device="cpu")
    assert model.whisper is not None
    assert model.labels == ["anger", "joy", "neutral"]
    config = json.loads((out / "best" / "config.json").read_text())
    assert config["emotrack_temperature"] > 0
    assert json.loads((out / "validation.json").read_text())["epoch"] == 1
    # spk_a's six clips, each as recorded and once augmented.
    assert len(list((out / "cache").glob("*.npy"))) == 12
    probabilities = model.classify(np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1)
    np.testing.assert_allclose(probabilities.sum(), 1.0, atol=1e-5)


def test_fine_tuning_top_layers_resumes_after_an_interruption(tiny_whisper_model_dir, tiny_corpus, tmp_path,
                                                             monkeypatch, capsys):
    out = tmp_path / "run"
    save = whisper_training.save_training_state

    def save_then_die(path, state):
        save(path, state)
        raise KeyboardInterrupt  # the machine went down right after epoch 1's checkpoint

    monkeypatch.setattr(whisper_training, "save_training_state", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        whisper_training.run(whisper_args(tiny_whisper_model_dir, tiny_corpus, out, "--train-layers", "1",
                                          "--epochs", "2"))
    first = torch.load(out / whisper_training.CHECKPOINT_FILE, weights_only=False)
    monkeypatch.setattr(whisper_training, "save_training_state", save)
    whisper_training.run(whisper_args(tiny_whisper_model_dir, tiny_corpus, out, "--train-layers", "1",
                                      "--epochs", "2", "--resume"))
    second = torch.load(out / whisper_training.CHECKPOINT_FILE, weights_only=False)
    assert (first["epoch"], second["epoch"]) == (1, 2)
    assert "resuming after epoch 1" in capsys.readouterr().err
    key = "encoder.layers.1.fc1.weight"  # the top layer trains; the one below stays frozen
    assert not torch.equal(first["model"][key], second["model"][key])
    assert torch.equal(first["model"]["encoder.layers.0.fc1.weight"], second["model"]["encoder.layers.0.fc1.weight"])
    with pytest.raises(ParameterError, match="same --epochs"):
        whisper_training.run(whisper_args(tiny_whisper_model_dir, tiny_corpus, out, "--train-layers", "1",
                                          "--epochs", "3", "--resume"))


def test_test_speakers_are_never_read(tiny_whisper_model_dir, tiny_corpus, tmp_path, monkeypatch):
    seen = []
    original = whisper_training.encode_corpus
    monkeypatch.setattr(whisper_training, "encode_corpus",
                        lambda encoder, clips, *a, **k: seen.extend(c.speaker for c in clips) or original(encoder, clips, *a, **k))
    args = whisper_args(tiny_whisper_model_dir, tiny_corpus, tmp_path / "run")
    args.test_speakers, args.val_speakers = ["spk_b"], []
    whisper_training.run(args)
    assert set(seen) == {"spk_a"}


def test_corpus_class_balance_draws_each_cell_equally():
    clips = [LabelledClip(Path(f"{i}.flac"), corpus, "s", label, np.zeros(1, np.float32))
             for i, (corpus, label) in enumerate([("big", "anger")] * 6 + [("big", "joy")] * 2
                                                 + [("small", "anger")] * 1 + [("small", "joy")] * 3)]
    targets = np.array([0 if c.label == "anger" else 1 for c in clips])
    weights = whisper_training.sampling_weights(clips, targets, "corpus-class")
    cells = {}
    for clip, weight in zip(clips, weights):
        cells[(clip.corpus, clip.label)] = cells.get((clip.corpus, clip.label), 0.0) + weight
    np.testing.assert_allclose(list(cells.values()), 0.25)
    by_class = whisper_training.sampling_weights(clips, targets, "class")
    np.testing.assert_allclose(by_class[targets == 0].sum(), 0.5)


def test_bad_options_are_refused(tiny_whisper_model_dir, tiny_corpus, tmp_path):
    with pytest.raises(ParameterError, match="--train-layers"):
        whisper_training.run(whisper_args(tiny_whisper_model_dir, tiny_corpus, tmp_path / "a", "--train-layers", "5"))
    with pytest.raises(ParameterError, match="--resume"):
        whisper_training.run(whisper_args(tiny_whisper_model_dir, tiny_corpus, tmp_path / "b", "--resume"))
    with pytest.raises(ParameterError, match="--chunk-seconds"):
        whisper_training.run(whisper_args(tiny_whisper_model_dir, tiny_corpus, tmp_path / "c", "--chunk-seconds", "5"))


def test_fixed_layers_are_the_only_ones_read_and_stay_fixed(tiny_whisper_model_dir, tiny_corpus, tmp_path):
    out = tmp_path / "run"
    whisper_training.run(whisper_args(tiny_whisper_model_dir, tiny_corpus, out, "--layers", "1"))
    model = EmotionModel.from_pretrained(out / "best", device="cpu")
    weights = torch.softmax(model.model.layer_weights.detach(), dim=-1)
    np.testing.assert_array_equal(weights.numpy(), [0.0, 1.0, 0.0])
    with pytest.raises(ParameterError, match="--layers"):
        whisper_training.run(whisper_args(tiny_whisper_model_dir, tiny_corpus, tmp_path / "bad", "--layers", "3"))


def test_cross_validation_scores_held_out_speakers_and_calibrates_the_final_model(
        tiny_whisper_model_dir, tiny_corpus, tmp_path, monkeypatch):
    out = tmp_path / "cv"
    trained_on = []
    original = whisper_training.train_model

    def recording(args, train_clips, val_clips, directory, *rest, **options):
        trained_on.append((directory.name, {c.speaker for c in train_clips}, {c.speaker for c in val_clips}))
        return original(args, train_clips, val_clips, directory, *rest, **options)

    monkeypatch.setattr(whisper_training, "train_model", recording)
    args = whisper_args(tiny_whisper_model_dir, tiny_corpus, out, "--folds", "2")
    assert whisper_training.run(args) == 0
    # Each fold trains on one speaker and is scored on the other; the final model trains on both.
    assert sorted(trained_on[:2]) == [("fold-1", {"spk_b"}, {"spk_a"}), ("fold-2", {"spk_a"}, {"spk_b"})] or \
        sorted(trained_on[:2]) == [("fold-1", {"spk_a"}, {"spk_b"}), ("fold-2", {"spk_b"}, {"spk_a"})]
    assert trained_on[2] == ("cv", {"spk_a", "spk_b"}, set())
    summary = json.loads((out / "cv.json").read_text())
    assert summary["out_of_fold"]["clips"] == 12
    assert [fold["clips"] for fold in summary["folds"]] == [6, 6]
    config = json.loads((out / "best" / "config.json").read_text())
    assert config["emotrack_temperature"] == pytest.approx(summary["temperature"])
    # Run again: every fold's held-out logits are kept, so nothing trains twice.
    trained_on.clear()
    whisper_training.run(args)
    assert [name for name, *_ in trained_on] == ["cv"]


def test_speaker_folds_spread_each_corpus():
    from emotrack.ml.emotion.cross_validation import speaker_folds

    corpora = {f"r{i}": "ravdess" for i in range(8)} | {"e1": "emovo", "e2": "emovo", "e3": "emovo"}
    folds = speaker_folds(sorted(corpora), corpora, 3)
    assert sorted(s for fold in folds for s in fold) == sorted(corpora)
    assert [sum(corpora[s] == "emovo" for s in fold) for fold in folds] == [1, 1, 1]
    with pytest.raises(ParameterError, match="--folds"):
        speaker_folds(sorted(corpora), corpora, 12)


def test_read_speech_is_drawn_as_a_share_of_the_acted_neutral_clips():
    from emotrack.ml.emotion.data import READ_SPEECH_CORPUS

    clips = [LabelledClip(Path(f"{i}.flac"), corpus, "s", label, np.zeros(1, np.float32))
             for i, (corpus, label) in enumerate([("acted", "anger")] * 4 + [("acted", "neutral")] * 2
                                                 + [(READ_SPEECH_CORPUS, "neutral")] * 10)]
    targets = np.array([0 if c.label == "anger" else 1 for c in clips])
    weights = whisper_training.sampling_weights(clips, targets, "class", read_share=0.5)
    read = np.array([c.corpus == READ_SPEECH_CORPUS for c in clips])
    assert weights[read].sum() == pytest.approx(0.5 * weights[~read & (targets == 1)].sum())
    assert weights[~read & (targets == 0)].sum() == pytest.approx(weights[~read & (targets == 1)].sum())
    np.testing.assert_allclose(weights[read], weights[read][0])  # every utterance alike


def test_read_speech_joins_every_fold_and_is_never_held_out(tiny_whisper_model_dir, tiny_corpus, tmp_path,
                                                            monkeypatch):
    import soundfile

    root = tmp_path / "read"
    root.mkdir()
    for reader in range(8):
        soundfile.write(root / f"{200 + reader}-1-0000.flac", (0.1 * np.sin(np.arange(8000) / 9.0)).astype(np.float32),
                        16000)
    trained_on = []
    original = whisper_training.train_model

    def recording(args, train_clips, val_clips, directory, *rest, **options):
        trained_on.append(({c.corpus for c in train_clips}, {c.corpus for c in val_clips}))
        return original(args, train_clips, val_clips, directory, *rest, **options)

    monkeypatch.setattr(whisper_training, "train_model", recording)
    args = whisper_args(tiny_whisper_model_dir, tiny_corpus, tmp_path / "cv", "--folds", "2",
                        "--neutral-speech", str(root))
    assert whisper_training.run(args) == 0
    assert len(trained_on) == 3
    assert all("read speech" in train and "read speech" not in held for train, held in trained_on)
    summary = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert summary["out_of_fold"]["clips"] == 12  # the acted clips alone are scored
    with pytest.raises(ParameterError, match="--neutral-share"):
        whisper_training.run(whisper_args(tiny_whisper_model_dir, tiny_corpus, tmp_path / "bad",
                                          "--neutral-speech", str(root), "--neutral-share", "-1"))
