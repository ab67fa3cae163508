"""The actor-referenced emotion head: trained on a toy corpus, shipped beside a Whisper
checkpoint, used through a reference made from an actor's lines (model and CLI)."""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pytest
import soundfile

from emotrack.cli.main import main
from emotrack.core.actor_reference import ActorReference
from emotrack.errors import ModelError, ParameterError
from emotrack.ml.emotion import actor_training
from emotrack.ml.emotion.actor import ACTOR_FOLDER, build_reference
from emotrack.ml.emotion.modeling import EmotionModel

WINDOW, HOP = 4000, 2000


@pytest.fixture
def actor_model_dir(tiny_whisper_model_dir, tiny_corpus, tmp_path):
    """The tiny Whisper checkpoint with an actor head trained on the toy corpus."""
    parser = argparse.ArgumentParser()
    actor_training.add_arguments(parser)
    out = tmp_path / "actor-run"
    args = parser.parse_args(["--data", str(tiny_corpus), "--out", str(out), "--model", str(tiny_whisper_model_dir),
                              "--copies", "1", "--folds", "2", "--l2", "0.01", "0.1", "--threads", "1",
                              "--layers", "1", "2", "--test-speakers"])
    assert actor_training.run(args) == 0
    summary = json.loads((out / actor_training.SUMMARY_FILE).read_text())
    assert summary["clips"] == 12 and summary["temperature"] > 0 and summary["l2"] in (0.01, 0.1)
    assert summary["layers"] == [1, 2]
    config = json.loads((out / ACTOR_FOLDER / "config.json").read_text())
    assert config["layers"] == [1, 2] and config["d_model"] == 2 * 16  # the tiny encoder's width, twice
    assert config["prior_lines"] == 3.0  # the default blend of a few lines' reference
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_whisper_model_dir, model_dir)
    shutil.copytree(out / ACTOR_FOLDER, model_dir / ACTOR_FOLDER)
    return model_dir


def tone(pitch: float, seconds: float = 1.2, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    noise = 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return (0.3 * np.sin(2 * np.pi * pitch * t) + noise).astype(np.float32)


def test_reference_changes_the_reading_and_can_be_cleared(actor_model_dir):
    model = EmotionModel.from_pretrained(actor_model_dir, device="cpu")
    assert model.actor_head is not None
    lines = [(f"l{i}", tone(p, seed=i)) for i, p in enumerate((150.0, 300.0, 500.0))]
    reference = build_reference(model, lines, WINDOW, HOP, name="toy")
    assert reference.lines == ("l0", "l1", "l2") and reference.windows > 0
    clip = tone(300.0, seed=9)
    plain = model.classify(clip, WINDOW, HOP)
    model.use_actor(reference)
    referenced = model.classify(clip, WINDOW, HOP)
    np.testing.assert_allclose(referenced.sum(), 1.0, atol=1e-5)
    assert not np.allclose(plain, referenced)
    # Separate windows (predict) go through the same head as a sliding analysis (of the
    # same samples: in a longer clip the encoder would also hear what follows the window).
    window = clip[:WINDOW]
    np.testing.assert_allclose(model.predict(window[None])[0], model.predict_windows(window, [0], WINDOW)[0],
                               atol=1e-5)
    model.use_actor(None)
    np.testing.assert_allclose(model.classify(clip, WINDOW, HOP), plain, atol=1e-6)


def test_a_reference_for_another_encoder_is_refused(actor_model_dir):
    model = EmotionModel.from_pretrained(actor_model_dir, device="cpu")
    reference = build_reference(model, [("a", tone(200.0))], WINDOW, HOP)
    foreign = ActorReference(mean=reference.mean, model="whisper-encoder-0000", layers=reference.layers,
                             lines=reference.lines, windows=reference.windows)
    with pytest.raises(ParameterError, match="make it again with this model"):
        model.use_actor(foreign)


def test_a_model_without_actor_head_says_so(tiny_whisper_model_dir):
    model = EmotionModel.from_pretrained(tiny_whisper_model_dir, device="cpu")
    with pytest.raises(ModelError, match="no actor head"):
        build_reference(model, [("a", tone(200.0))], WINDOW, HOP)
    reference = ActorReference(mean=np.zeros(16, np.float32), model="x", layers=(2,), windows=1)
    with pytest.raises(ParameterError, match="no actor head"):
        model.use_actor(reference)


def test_cli_reference_then_classify_and_same_actor(actor_model_dir, tmp_path, capsys):
    paths = []
    for i, pitch in enumerate((150.0, 300.0, 500.0, 220.0)):
        path = tmp_path / f"line{i}.wav"
        soundfile.write(path, tone(pitch, seed=i), 16000)
        paths.append(str(path))
    common = ["--model", str(actor_model_dir), "--device", "cpu"]
    analysis = ["--window", str(WINDOW), "--hop", str(HOP), "--interval", "0.5"]
    reference_path = tmp_path / "toy.json"
    assert main(["actor-reference", *paths, "-o", str(reference_path), "--name", "Toy", "-q", *common]) == 0
    assert "under 12 lines" in capsys.readouterr().err  # four lines are too few: warned
    assert ActorReference.load(reference_path).name == "Toy"

    assert main(["classify", *paths[:2], "--actor", str(reference_path), *common, *analysis]) == 0
    with_file = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    assert main(["classify", *paths, str(broken), "--same-actor", *common, *analysis]) == 2
    same = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["path"] for record in same] == [*paths, str(broken)]
    assert "error" in same[-1]
    for a, b in zip(with_file, same[:2]):  # the same reference either way (the file keeps 6 decimals)
        assert a["probabilities"] == pytest.approx(b["probabilities"], abs=1e-3)

    assert main(["classify", paths[0], "--actor", str(reference_path), "--same-actor", *common]) == 2
    assert "not both" in capsys.readouterr().err

    # Nothing readable: every file still gets its error line.
    assert main(["classify", str(broken), str(tmp_path / "missing.wav"), "--same-actor", *common]) == 2
    assert [("error" in json.loads(line)) for line in capsys.readouterr().out.splitlines()] == [True, True]


def test_analyze_and_batch_keep_the_actor_in_the_project(tiny_actor_model_dir, tmp_path, capsys):
    from emotrack.core.project_file import load_project

    lines = tmp_path / "lines"
    lines.mkdir()
    paths = []
    for i, pitch in enumerate((150.0, 300.0)):
        path = lines / f"line{i}.wav"
        soundfile.write(path, tone(pitch, seconds=2.0, seed=i), 16000)
        paths.append(str(path))
    common = ["--model", str(tiny_actor_model_dir), "--device", "cpu"]
    reference = tmp_path / "actor.json"
    assert main(["actor-reference", *paths, "-o", str(reference), "--name", "Duo", "-q", *common]) == 0
    project = tmp_path / "line0.emotrack"
    assert main(["analyze", paths[0], "-o", str(project), "--actor", str(reference), "-q", *common]) == 0
    assert load_project(project).actor.name == "Duo"
    out = tmp_path / "batch"
    assert main(["batch", str(lines), "-o", str(out), "--actor", str(reference), "--workers", "1", "-q",
                 *common]) == 0
    assert {load_project(p).actor.name for p in out.rglob("*.emotrack")} == {"Duo"}
    capsys.readouterr()


def test_batch_reads_each_character_against_its_own_reference(tiny_actor_model_dir, tmp_path, capsys):
    from emotrack.core.project_file import load_project

    dialogue, references = tmp_path / "dialogue", tmp_path / "actors"
    references.mkdir()
    common = ["--model", str(tiny_actor_model_dir), "--device", "cpu"]
    for character, pitch in (("bob", 140.0), ("ann", 320.0)):
        (dialogue / character).mkdir(parents=True)
        paths = []
        for i in range(2):
            path = dialogue / character / f"{character}{i}.wav"
            soundfile.write(path, tone(pitch * (1 + 0.1 * i), seconds=2.0, seed=i), 16000)
            paths.append(str(path))
        assert main(["actor-reference", *paths, "-o", str(references / f"{character}.json"), "--name", character,
                     "-q", *common]) == 0
    out = tmp_path / "batch"
    assert main(["batch", str(dialogue), "-o", str(out), "--actors", str(references), "--workers", "1", "-q",
                 *common]) == 0
    read = {p.stem: load_project(p).actor.name for p in out.rglob("*.emotrack")}
    assert read == {"bob0": "bob", "bob1": "bob", "ann0": "ann", "ann1": "ann"}

    # A reference made with another encoder is refused before any line runs.
    data = json.loads((references / "bob.json").read_text())
    data["model"] = "whisper-encoder-0000000000000000"
    (references / "bob.json").write_text(json.dumps(data))
    assert main(["batch", str(dialogue), "-o", str(tmp_path / "again"), "--actors", str(references), "-q",
                 *common]) == 2
    assert "another emotion encoder" in capsys.readouterr().err


def test_batch_makes_each_characters_reference_from_its_own_lines(tiny_actor_model_dir, tmp_path, capsys,
                                                                     monkeypatch):
    from emotrack.batch import own_references
    from emotrack.core.project_file import load_project

    # Whatever the tiny random head hears, every reference is kept; the one-mood guard is tried below.
    monkeypatch.setattr(own_references, "DROP_SHARE", 1.0)
    dialogue = tmp_path / "dialogue"
    for character, pitch, count in (("bob", 140.0, 3), ("ann", 320.0, 2), ("cid", 200.0, 1)):
        (dialogue / character).mkdir(parents=True)
        for i in range(count):
            soundfile.write(dialogue / character / f"{character}{i}.wav",
                            tone(pitch * (1 + 0.1 * i), seconds=2.0, seed=i), 16000)
    (dialogue / "bob" / "broken.wav").write_bytes(b"RIFF not really")
    common = ["--model", str(tiny_actor_model_dir), "--device", "cpu", "--workers", "1"]
    out = tmp_path / "batch"
    assert main(["batch", str(dialogue), "-o", str(out), "--actors", "auto", *common]) == 1  # broken.wav fails
    err = capsys.readouterr().err
    assert "character bob: reference of 3 lines made" in err and "character cid: 1 line" in err
    made = ActorReference.load(out / "actors" / "bob.json")
    assert made.name == "bob" and sorted(made.lines) == ["bob0.wav", "bob1.wav", "bob2.wav"]
    read = {p.stem: getattr(load_project(p).actor, "name", None) for p in out.rglob("*.emotrack")}
    assert read == {"bob0": "bob", "bob1": "bob", "bob2": "bob", "ann0": "ann", "ann1": "ann", "cid0": None}

    # A rerun reuses the references (and so skips every finished line); changed audio makes one again.
    assert main(["batch", str(dialogue), "-o", str(out), "--actors", "auto", *common]) == 1
    err = capsys.readouterr().err
    assert "character bob: reference of 3 lines reused" in err and "0 analysed, 6 unchanged" in err
    soundfile.write(dialogue / "ann" / "ann1.wav", tone(500.0, seconds=2.0, seed=7), 16000)
    assert main(["batch", str(dialogue), "-o", str(out), "--actors", "auto", *common]) == 1
    assert "character ann: reference of 2 lines made" in capsys.readouterr().err

    # A character whose lines sound too much alike gets no reference (here: any share at all).
    monkeypatch.setattr(own_references, "DROP_SHARE", 0.0)
    alike = tmp_path / "alike"
    assert main(["batch", str(dialogue), "-o", str(alike), "--actors", "auto", *common]) == 1
    assert "a reference of one mood would hide it" in capsys.readouterr().err
    assert {getattr(load_project(p).actor, "name", None) for p in alike.rglob("*.emotrack")} == {None}


def test_batch_groups_lines_without_a_character_by_voice(tiny_voice_model_dir, tmp_path, capsys, monkeypatch):
    import csv

    from emotrack.batch import own_references
    from emotrack.core import voice_groups
    from emotrack.core.project_file import load_project

    # The tiny voice space hears one voice; every reference is kept, whatever the random head hears.
    monkeypatch.setattr(voice_groups, "DROP_SHARE", 1.0)
    monkeypatch.setattr(own_references, "DROP_SHARE", 1.0)
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        soundfile.write(flat / f"vo_{i}.wav", tone(150.0 + 60 * i, seconds=2.0, seed=i), 16000)
    # Room tone with no speech has no voice: it stays without a character, read alone.
    hiss = 0.0005 * np.random.default_rng(0).standard_normal(32000)
    soundfile.write(flat / "room_tone.wav", hiss.astype(np.float32), 16000)
    common = ["--model", str(tiny_voice_model_dir), "--device", "cpu", "--workers", "1"]
    out = tmp_path / "out"
    assert main(["batch", str(flat), "-o", str(out), "--actors", "auto", *common]) == 0
    err = capsys.readouterr().err
    assert "4 lines without a character: 1 voice heard" in err and "no speech detected in room_tone.wav" in err
    assert "character voice-1: reference of 3 lines reused" in err  # made while grouping, not read again
    actors = {p.stem: load_project(p).actor for p in out.rglob("*.emotrack")}
    assert actors.pop("room_tone") is None and {a.name for a in actors.values()} == {"voice-1"}
    with (out / "summary.csv").open() as handle:
        assert {row["name"]: row["character"] for row in csv.DictReader(handle)}["room_tone"] == ""

    assert main(["batch", str(flat), "-o", str(out), "--actors", "auto", *common]) == 0
    err = capsys.readouterr().err
    assert "their voices reused" in err and "0 analysed, 4 unchanged" in err


def test_batch_actors_auto_needs_an_actor_head(tiny_whisper_model_dir, tmp_path, capsys):
    (tmp_path / "d" / "bob").mkdir(parents=True)
    for i in range(2):
        soundfile.write(tmp_path / "d" / "bob" / f"b{i}.wav", tone(150.0 + 50 * i), 16000)
    assert main(["batch", str(tmp_path / "d"), "-o", str(tmp_path / "o"), "--actors", "auto", "--model",
                 str(tiny_whisper_model_dir), "--device", "cpu", "--workers", "1", "-q"]) == 2
    assert "needs an emotion model with an actor head" in capsys.readouterr().err


def test_a_head_saved_with_one_layer_loads(tmp_path):
    from emotrack.ml.emotion.window_mean_head import WindowMeanHeadConfig

    config = WindowMeanHeadConfig.from_dict({"d_model": 16, "num_labels": 6, "layer": 3, "reference_id": "r"})
    assert config.layers == (3,) and config.to_dict()["layers"] == [3]


@pytest.mark.parametrize("layers", [["9"], ["2", "2"]])
def test_training_refuses_layers_the_encoder_lacks(tiny_whisper_model_dir, tiny_corpus, tmp_path, layers):
    parser = argparse.ArgumentParser()
    actor_training.add_arguments(parser)
    args = parser.parse_args(["--data", str(tiny_corpus), "--out", str(tmp_path / "run"),
                              "--model", str(tiny_whisper_model_dir), "--layers", *layers])
    with pytest.raises(ParameterError, match="--layers must be distinct values 0..2"):
        actor_training.run(args)


def test_a_plain_head_replaces_the_checkpoints_own(tiny_whisper_model_dir, tiny_corpus, tmp_path):
    """``--plain`` trains a head on the windows as they are; in the model's plain/ folder
    it reads every window that no actor reference reads, with its own temperature."""
    from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER

    parser = argparse.ArgumentParser()
    actor_training.add_arguments(parser)
    out = tmp_path / "plain-run"
    args = parser.parse_args(["--data", str(tiny_corpus), "--out", str(out), "--model", str(tiny_whisper_model_dir),
                              "--copies", "0", "--folds", "2", "--l2", "0.01", "--threads", "1",
                              "--layers", "1", "2", "--plain", "--test-speakers"])
    assert actor_training.run(args) == 0
    summary = json.loads((out / actor_training.PLAIN_SUMMARY_FILE).read_text())
    config = json.loads((out / PLAIN_FOLDER / "config.json").read_text())
    assert config["layers"] == [1, 2] and config["reference_id"] == ""
    assert config["temperature"] == pytest.approx(summary["temperature"], abs=1e-4)
    assert not (out / ACTOR_FOLDER).exists()

    model_dir = tmp_path / "model"
    shutil.copytree(tiny_whisper_model_dir, model_dir)
    shutil.copytree(out / PLAIN_FOLDER, model_dir / PLAIN_FOLDER)
    checkpoint_only = EmotionModel.from_pretrained(tiny_whisper_model_dir, device="cpu")
    model = EmotionModel.from_pretrained(model_dir, device="cpu")
    assert model.plain_head is not None and model.temperature == config["temperature"]
    clip = tone(300.0, seed=9)
    plain = model.classify(clip, WINDOW, HOP)
    np.testing.assert_allclose(plain.sum(), 1.0, atol=1e-5)
    assert not np.allclose(plain, checkpoint_only.classify(clip, WINDOW, HOP))
    # Separate windows go through the same head as a sliding analysis of the same samples.
    window = clip[:WINDOW]
    np.testing.assert_allclose(model.predict(window[None])[0], model.predict_windows(window, [0], WINDOW)[0],
                               atol=1e-5)


def test_a_reference_of_few_lines_leans_on_the_training_speakers_mean():
    import torch

    from emotrack.ml.emotion.window_mean_head import WindowMeanHead, WindowMeanHeadConfig

    head = WindowMeanHead(WindowMeanHeadConfig(d_model=4, num_labels=6, layers=(3,), prior_lines=3.0))
    head.prior_reference.copy_(torch.tensor([4.0, 4.0, 0.0, 0.0]))
    mean = torch.tensor([0.0, 8.0, 4.0, 0.0])
    torch.testing.assert_close(head.blended_reference(mean, 1), torch.tensor([3.0, 5.0, 1.0, 0.0]))
    torch.testing.assert_close(head.blended_reference(mean, 0), head.blended_reference(mean, 1))
    many = head.blended_reference(mean, 297)  # 1 % prior
    torch.testing.assert_close(many, 0.99 * mean + 0.01 * head.prior_reference)
    unblended = WindowMeanHead(WindowMeanHeadConfig(d_model=4, num_labels=6, layers=(3,)))
    assert unblended.blended_reference(mean, 1) is mean and not hasattr(unblended, "prior_reference")


def test_the_model_reads_against_the_blended_reference(actor_model_dir):
    import torch

    model = EmotionModel.from_pretrained(actor_model_dir, device="cpu")
    assert model.actor_head.config.prior_lines == 3.0
    assert float(model.actor_head.prior_reference.abs().sum()) > 0  # saved by the trainer
    reference = build_reference(model, [("a", tone(200.0)), ("b", tone(400.0, seed=1))], WINDOW, HOP)
    model.use_actor(reference)
    expected = (2 * torch.from_numpy(reference.mean) + 3 * model.actor_head.prior_reference) / 5
    torch.testing.assert_close(model._actor_mean, expected)


def read_speech_folder(root, readers: int = 8, pitch: float = 220.0):
    """Read speech laid out like LibriSpeech (READER-CHAPTER-UTTERANCE.flac), one utterance each."""
    root.mkdir(parents=True, exist_ok=True)
    for reader in range(readers):
        soundfile.write(root / f"{100 + reader}-7-0000.flac", tone(pitch + 7 * reader, 0.8, seed=reader), 16000)
    return root


def test_read_speech_splits_its_readers_in_two_fixed_halves(tmp_path):
    from emotrack.ml.emotion.data import read_speech_clips, read_speech_part

    root = read_speech_folder(tmp_path / "read", readers=12)
    train, held = read_speech_clips(root, "train"), read_speech_clips(root, "held_out")
    assert len(train) + len(held) == 12 and train and held
    assert {c.speaker for c in train}.isdisjoint(c.speaker for c in held)
    assert all(c.label == "neutral" and read_speech_part(c.speaker) == "train" for c in train)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="no audio files"):
        read_speech_clips(tmp_path / "empty")
    with pytest.raises(ParameterError, match="part must be"):
        read_speech_clips(root, "test")


def test_read_speech_teaches_the_plain_head_neutral(tiny_whisper_model_dir, tiny_corpus, tmp_path):
    """``--neutral-speech``: the training half of the readers joins the neutral class, and
    the held-out half is then heard as more neutral than by a head trained without it."""
    from emotrack.ml.emotion.data import read_speech_clips
    from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER, load_window_mean_head

    root = read_speech_folder(tmp_path / "read", readers=16)
    parser = argparse.ArgumentParser()
    actor_training.add_arguments(parser)
    common = ["--data", str(tiny_corpus), "--model", str(tiny_whisper_model_dir), "--copies", "0", "--folds", "2",
              "--l2", "0.01", "--threads", "1", "--layers", "1", "2", "--plain", "--test-speakers"]
    neutral_probability = {}
    for share in (0.0, 1.0):
        out = tmp_path / f"plain-{share}"
        args = parser.parse_args([*common, "--out", str(out), "--neutral-speech", str(root),
                                  "--neutral-share", str(share)])
        assert actor_training.run(args) == 0
        summary = json.loads((out / actor_training.PLAIN_SUMMARY_FILE).read_text())
        assert summary["read_speech"]["share"] == share and summary["read_speech"]["windows"] > 0
        model = EmotionModel.from_pretrained(tiny_whisper_model_dir, device="cpu")
        model.plain_head = load_window_mean_head(out / PLAIN_FOLDER, "cpu", "plain head")
        held = read_speech_clips(root, "held_out")
        neutral = model.labels.index("neutral")
        neutral_probability[share] = np.mean([model.classify(c.samples, WINDOW, HOP)[neutral] for c in held])
    assert neutral_probability[1.0] > neutral_probability[0.0]
    refused = parser.parse_args([*[a for a in common if a != "--plain"], "--out", str(tmp_path / "actor"),
                                 "--neutral-speech", str(root)])
    with pytest.raises(ParameterError, match="plain head"):
        actor_training.run(refused)
