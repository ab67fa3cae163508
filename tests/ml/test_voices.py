"""Reading a batch of lines by voice: the voice space trainer on a toy corpus, the model
reading each group against its own reference, and ``classify`` doing it by default."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from emotrack.cli.main import main
from emotrack.core.actor_reference import ACTOR_FOLDER
from emotrack.core.analysis import NoSpeechWarning
from emotrack.core.voice_groups import VoiceSpace
from emotrack.errors import ModelError
from emotrack.ml.emotion import voice_space_training
from emotrack.ml.emotion.modeling import EmotionModel
from emotrack.ml.emotion.voices import read_as_one_actor, read_by_voice, reference_for_line

RATE = 16000
WINDOW, HOP = 4000, 2000


def voice(pitch: float, brightness: float, seconds: float = 0.6, seed: int = 0) -> np.ndarray:
    """A toy 'voice': a tone whose harmonics (``brightness``) stay with the speaker while
    the pitch carries the 'emotion'."""
    t = np.arange(int(seconds * RATE)) / RATE
    audio = sum(brightness ** k * np.sin(2 * np.pi * pitch * (k + 1) * t) for k in range(4))
    audio = 0.2 * audio + 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return audio.astype(np.float32)


@pytest.fixture
def voice_corpus(tmp_path):
    """Four speakers (brightness) x three emotions (pitch) x two takes, laid out like the shared data."""
    root = tmp_path / "voice-corpus"
    rows = []
    for speaker, brightness in (("s1", 0.1), ("s2", 0.4), ("s3", 0.7), ("s4", 0.9)):
        (root / speaker).mkdir(parents=True)
        for label, pitch in (("angry", 300.0), ("happy", 500.0), ("neutral", 150.0)):
            for take in range(2):
                path = f"{speaker}/{label}_{take}.flac"
                soundfile.write(root / path, voice(pitch * (1 + 0.03 * take), brightness, seed=take), RATE)
                rows.append([path, "toy", speaker, label, "en", "0.6"])
    with (root / "labels.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["path", "corpus", "speaker", "label", "lang", "seconds"], *rows])
    return root


@pytest.fixture
def voice_model_dir(tiny_actor_model_dir, voice_corpus, tmp_path):
    """The tiny Whisper checkpoint with its actor head and a voice space fitted on the toy corpus."""
    out = tmp_path / "voice-run"
    assert main(["train", "voice-space", "--data", str(voice_corpus), "--out", str(out), "--model",
                 str(tiny_actor_model_dir), "--layers", "1", "--folds", "2", "--threads", "1", "--test-speakers"]) == 0
    summary = json.loads((out / voice_space_training.SUMMARY_FILE).read_text())
    assert summary["clips"] == 24 and summary["speakers"] == 4 and len(summary["folds"]) == 2
    assert all(0 <= fold["pair_precision"] <= 1 and fold["voices_found"] >= 1 for fold in summary["folds"])
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_actor_model_dir, model_dir)
    shutil.copy(out / ACTOR_FOLDER / "voice-space.safetensors", model_dir / ACTOR_FOLDER)
    space = VoiceSpace.load(model_dir / ACTOR_FOLDER)
    assert space.layers == (1,) and space.projection.shape == (16, 16)  # whitening keeps the tiny width, 16
    return model_dir


def lines() -> list[tuple[str, np.ndarray]]:
    return [(f"l{i}", voice(pitch, brightness, seed=i))
            for i, (pitch, brightness) in enumerate([(300.0, 0.1), (150.0, 0.1), (500.0, 0.9), (150.0, 0.9),
                                                     (500.0, 0.1), (300.0, 0.9)])]


def test_each_line_is_read_against_its_groups_reference(voice_model_dir):
    model = EmotionModel.from_pretrained(voice_model_dir, device="cpu")
    assert model.voice_space is not None
    readings = read_by_voice(model, lines(), WINDOW, HOP)
    assert [r.name for r in readings] == [f"l{i}" for i in range(6)]
    assert readings[0].group.number == 1
    for reading, (name, samples) in zip(readings, lines()):
        np.testing.assert_allclose(reading.probabilities.sum(), 1.0, atol=1e-5)
        group = reading.group
        # Exactly what classify gives the line alone (one-sided group) or with --actor (the group's reference).
        expected = model.with_actor(group.reference).classify(samples, WINDOW, HOP)
        np.testing.assert_allclose(reading.probabilities, expected, atol=1e-5)
        if group.reference is not None:
            assert name in group.reference.lines


def test_a_line_without_speech_joins_no_voice_and_no_reference(voice_model_dir):
    """Background sound says nothing of an actor: it is read alone, in a group of its own,
    and left out of every reference (``classify --same-actor`` too), with a warning."""
    model = EmotionModel.from_pretrained(voice_model_dir, device="cpu")
    hum = ("hum", (0.001 * np.random.default_rng(5).standard_normal(RATE)).astype(np.float32))
    with pytest.warns(NoSpeechWarning, match="no speech detected in hum.*joins no voice group"):
        readings = read_by_voice(model, [*lines(), hum], WINDOW, HOP)
    quiet = readings[-1]
    assert not quiet.speech and quiet.group.members == (6,) and quiet.group.reference is None
    assert quiet.group.number == max(r.group.number for r in readings[:-1]) + 1
    np.testing.assert_allclose(quiet.probabilities, model.classify(hum[1], WINDOW, HOP), atol=1e-5)
    assert all(r.speech and "hum" not in (r.group.reference.lines if r.group.reference else ())
               for r in readings[:-1])
    with pytest.warns(NoSpeechWarning):
        reference, read = read_as_one_actor(model, [*lines(), hum], WINDOW, HOP)
    assert "hum" not in reference.lines and len(reference.lines) == 6
    np.testing.assert_allclose(read[-1][1], quiet.probabilities, atol=1e-6)
    with pytest.warns(NoSpeechWarning):  # nothing to make a reference of: each line alone, nothing lost
        reference, read = read_as_one_actor(model, [hum, ("hum2", hum[1])], WINDOW, HOP)
    assert reference is None and [name for name, _ in read] == ["hum", "hum2"]
    np.testing.assert_allclose(read[0][1], quiet.probabilities, atol=1e-6)


def test_a_model_without_a_voice_space_says_so(tiny_actor_model_dir):
    model = EmotionModel.from_pretrained(tiny_actor_model_dir, device="cpu")
    with pytest.raises(ModelError, match="voice space"):
        read_by_voice(model, lines(), WINDOW, HOP)


def test_classify_groups_several_files_by_voice_unless_asked_not_to(voice_model_dir, tmp_path, capsys):
    paths = []
    for name, samples in lines():
        paths.append(str(tmp_path / f"{name}.wav"))
        soundfile.write(paths[-1], samples, RATE)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    common = ["--model", str(voice_model_dir), "--device", "cpu", "--window", str(WINDOW), "--hop", str(HOP)]

    assert main(["classify", *paths, str(broken), *common]) == 2
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["path"] for r in records] == [*paths, str(broken)] and "error" in records[-1]
    assert records[0]["voice"] == 1 and all(r["voice"] >= 1 for r in records[:-1])
    assert "voice" in captured.err and "--each-alone" in captured.err
    assert main(["classify", paths[0], str(broken), *common]) == 2  # one readable line: nothing to group
    assert capsys.readouterr().err.splitlines() == [f"emotrack: error: cannot read {broken.name}: not an audio file "
                                                     "or an unsupported format"]

    assert main(["classify", *paths, "--each-alone", *common]) == 0
    alone = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all("voice" not in r for r in alone)
    assert main(["classify", paths[0], *common]) == 0  # one file: read alone, as always
    single = json.loads(capsys.readouterr().out)
    assert single["probabilities"] == alone[0]["probabilities"] and "voice" not in single


def test_actor_folder_reads_one_file_as_its_folder_batch_would(voice_model_dir, tmp_path, capsys, monkeypatch):
    """``--actor folder``: one file read against its own voice's lines in its folder gives
    what ``classify`` gives it in a batch of the whole folder; analyze keeps that reference."""
    from emotrack.core import voice_groups
    from emotrack.core.project_file import load_project

    monkeypatch.setattr(voice_groups, "DROP_SHARE", 1.0)  # keep every group's reference, whatever the toy head hears

    folder = tmp_path / "session"
    folder.mkdir()
    for name, samples in lines():
        soundfile.write(folder / f"{name}.wav", samples, RATE)
    (folder / "notes.txt").write_text("not a recording")
    (folder / "broken.wav").write_bytes(b"RIFF not really")  # another file's trouble is not this one's
    common = ["--model", str(voice_model_dir), "--device", "cpu", "--window", str(WINDOW), "--hop", str(HOP)]
    paths = sorted(str(p) for p in folder.glob("l*.wav"))

    assert main(["classify", *paths, *common]) == 0
    batch = {r["path"]: r["probabilities"] for r in map(json.loads, capsys.readouterr().out.splitlines())}
    for path in (paths[0], paths[3]):
        assert main(["classify", path, "--actor", "folder", *common]) == 0
        captured = capsys.readouterr()
        alone = json.loads(captured.out)
        assert alone["path"] == path and "voice" not in alone
        np.testing.assert_allclose(list(alone["probabilities"].values()), list(batch[path].values()), atol=2e-6)
        assert f"emotrack: {Path(path).name}: " in captured.err and "in session" in captured.err

    model = EmotionModel.from_pretrained(voice_model_dir, device="cpu")
    readings = read_by_voice(model, [(str(folder / f"{n}.wav"), x) for n, x in lines()], WINDOW, HOP)
    expected, _ = reference_for_line(readings, paths[0], "session")
    assert main(["analyze", paths[0], "--actor", "folder", "-o", str(tmp_path / "p.emotrack"), "-q", *common]) == 0
    actor = load_project(tmp_path / "p.emotrack").actor
    assert expected is not None and len(expected.lines) > 1
    assert actor.name == "session voice" and actor.lines == expected.lines

    assert main(["batch", str(folder), "-o", str(tmp_path / "out"), "--actor", "folder", *common[:4]]) == 2
    assert "--actors auto" in capsys.readouterr().err


def test_the_voice_space_trainer_refuses_what_it_cannot_fit(tiny_actor_model_dir, tiny_corpus, voice_corpus,
                                                            tmp_path, capsys):
    common = ["--out", str(tmp_path / "out"), "--model", str(tiny_actor_model_dir), "--test-speakers"]
    assert main(["train", "voice-space", "--data", str(voice_corpus), "--threshold", "3", *common]) == 2
    assert "--threshold in (0, 2]" in capsys.readouterr().err
    assert main(["train", "voice-space", "--data", str(voice_corpus), "--layers", "9", *common]) == 2
    assert "--layers must be distinct values" in capsys.readouterr().err
    assert main(["train", "voice-space", "--data", str(tiny_corpus), "--folds", "2", *common]) == 2
    assert "at least 3 training speakers" in capsys.readouterr().err


def test_the_discriminant_voice_space_keeps_one_direction_fewer_than_speakers(tiny_actor_model_dir, voice_corpus,
                                                                              tmp_path):
    out = tmp_path / "lda"
    assert main(["train", "voice-space", "--data", str(voice_corpus), "--out", str(out), "--model",
                 str(tiny_actor_model_dir), "--layers", "1", "--method", "lda", "--threshold", "0.6", "--folds", "2",
                 "--threads", "1", "--test-speakers"]) == 0
    space = VoiceSpace.load(out / ACTOR_FOLDER)
    assert space.projection.shape == (16, 3) and space.threshold == 0.6  # 4 speakers - 1
    assert json.loads((out / voice_space_training.SUMMARY_FILE).read_text())["method"] == "lda"
