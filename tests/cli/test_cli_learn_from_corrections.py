"""``emotrack train emotion --from-projects``, end to end on tiny random-init models:
analyse a clip, correct some keys, learn, and check the new model moved toward them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from emotrack.cli.main import main
from emotrack.core import commands
from emotrack.core.corrections import correction_targets
from emotrack.core.emotions import EMOTIONS
from emotrack.core.project_file import load_project, save_project
from emotrack.io.audio import load_audio
from emotrack.ml.emotion import EmotionModel
from emotrack.pipeline import analyze_file
from signals import speech_like

SAMPLE_RATE = 16_000
EMOTION_ID2LABEL = {0: "angry", 1: "disgust", 2: "fear", 3: "happy", 4: "neutral", 5: "sad"}
FAST = ["--epochs", "25", "--lr", "0.02", "--threads", "1", "--device", "cpu"]


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_whisper_dir(tmp_path_factory) -> Path:
    """A random-init Whisper classifier: the "accurate" family at toy size."""
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForAudioClassification

    torch.manual_seed(0)
    config = WhisperConfig(
        d_model=16, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=32, decoder_layers=1,
        decoder_attention_heads=2, decoder_ffn_dim=32, num_mel_bins=80, max_source_positions=250,
        use_weighted_layer_sum=True, classifier_proj_size=8, num_labels=6, id2label=EMOTION_ID2LABEL,
        label2id={v: k for k, v in EMOTION_ID2LABEL.items()}, emotrack_temperature=1.5)
    directory = tmp_path_factory.mktemp("tiny_whisper")
    WhisperForAudioClassification(config).save_pretrained(directory)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tiny_plain_head_dir(tiny_whisper_dir, tmp_path_factory) -> Path:
    """The tiny Whisper classifier with a plain head (which replaces the checkpoint's own)
    and an actor head beside it, as the bundled accurate model ships."""
    import shutil

    from emotrack.core.actor_reference import ACTOR_FOLDER
    from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER, WindowMeanHead, WindowMeanHeadConfig

    directory = tmp_path_factory.mktemp("tiny_plain") / "model"
    shutil.copytree(tiny_whisper_dir, directory)
    torch.manual_seed(2)
    for folder, temperature in ((PLAIN_FOLDER, 1.25), (ACTOR_FOLDER, 1.0)):
        head = WindowMeanHead(WindowMeanHeadConfig(d_model=32, num_labels=6, layers=(1, 2), temperature=temperature,
                                                   reference_id="whisper-encoder-test"))
        head.save_pretrained(directory / folder)
    return directory


def corrected_project(folder: Path, model_dir: Path, seconds: float = 8.0, seed: int = 0,
                      locked: int = 6, actor=None) -> tuple[Path, int]:
    """Analyse a speech-like clip with ``model_dir`` (against ``actor``'s reference when
    given), set the first ``locked`` keys to the emotion the model believes least, save;
    returns the project and that emotion."""
    folder.mkdir(parents=True, exist_ok=True)
    audio = folder / "take.wav"
    sf.write(audio, speech_like(seconds, seed=seed), SAMPLE_RATE)
    model = EmotionModel.from_pretrained(model_dir, device="cpu")
    project = analyze_file(audio, model, model_dir=model_dir, actor=actor)
    emotion = int(np.argmin(project.windows.probabilities.mean(axis=0)[: len(EMOTIONS)]))
    target = np.zeros(len(project.labels))
    target[emotion] = 1.0
    for key in project.keyframes[:locked]:
        commands.set_keyframe_values(project, key.id, target).redo(project)
    return save_project(project, folder / "take.emotrack"), emotion


def corrected_window_share(model_dir: Path, project_path: Path, emotion: int) -> float:
    """Mean probability of ``emotion`` over the windows of the corrected keys, read as the
    project reads them (against its actor reference, if it has one)."""
    project = load_project(project_path)
    clip = load_audio(project.audio.path)
    targets = correction_targets(project, len(clip.samples))
    index = np.concatenate([key.windows for key in targets.keys])
    model = EmotionModel.from_pretrained(model_dir, device="cpu")
    model.use_actor(project.actor)
    probabilities = model.predict_windows(clip.samples, targets.starts[index], targets.window)
    return float(probabilities[:, model.labels.index(EMOTIONS[emotion])].mean())


def learn(capsys, *argv) -> tuple[int, str, str]:
    code = main(["train", "emotion", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_whisper_model_learns_the_corrections(tmp_path, tiny_whisper_dir, capsys):
    project, emotion = corrected_project(tmp_path / "p1", tiny_whisper_dir)
    out = tmp_path / "learned"
    code, stdout, stderr = learn(capsys, "--from-projects", project, "--model", tiny_whisper_dir,
                                 "--out", out, *FAST)
    assert code == 0, stderr
    assert "Held-out accuracy" in stdout and str(out) in stdout
    progress = [json.loads(line) for line in stderr.splitlines()]
    assert [p["epoch"] for p in progress if p["stage"] == "training"] == list(range(1, 26))

    report = json.loads((out / "corrections.json").read_text())
    assert report["base_model_path"] == str(tiny_whisper_dir.resolve())
    assert report["held_out_keys"] >= 1 and report["train_keys"] >= 3
    assert "last" in report["split"] and report["edited_keys"] == 6
    assert report["accuracy_after"] >= report["accuracy_before"]
    assert report["accuracy_after"] == 1.0
    # The temperature of the base model is kept; the base folder is untouched.
    assert json.loads((out / "config.json").read_text())["emotrack_temperature"] == 1.5
    assert not (tiny_whisper_dir / "corrections.json").exists()

    before = corrected_window_share(tiny_whisper_dir, project, emotion)
    after = corrected_window_share(out, project, emotion)
    print(f"share of the corrected emotion: {before:.3f} -> {after:.3f}; held-out accuracy "
          f"{report['accuracy_before']:.2f} -> {report['accuracy_after']:.2f}")
    assert after > before + 0.2, (before, after)


def test_the_plain_head_learns_when_the_model_has_one(tmp_path, tiny_plain_head_dir, capsys):
    from safetensors.torch import load_file

    from emotrack.core.actor_reference import ACTOR_FOLDER
    from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER

    project, emotion = corrected_project(tmp_path / "p1", tiny_plain_head_dir)
    out = tmp_path / "learned"
    code, _, stderr = learn(capsys, "--from-projects", project, "--model", tiny_plain_head_dir, "--out", out, *FAST)
    assert code == 0, stderr
    assert corrected_window_share(out, project, emotion) > corrected_window_share(tiny_plain_head_dir, project,
                                                                                  emotion) + 0.2
    learned = EmotionModel.from_pretrained(out, device="cpu")
    assert learned.plain_head is not None and learned.temperature == 1.25  # its own, kept
    assert learned.actor_head is not None  # copied: it reads the encoder, which did not change
    assert (out / ACTOR_FOLDER / "model.safetensors").read_bytes() == \
        (tiny_plain_head_dir / ACTOR_FOLDER / "model.safetensors").read_bytes()
    # The checkpoint's own head, which the plain head replaces, was left alone.
    before, after = load_file(tiny_plain_head_dir / "model.safetensors"), load_file(out / "model.safetensors")
    assert torch.equal(before["classifier.weight"], after["classifier.weight"])
    plain_before = load_file(tiny_plain_head_dir / PLAIN_FOLDER / "model.safetensors")
    plain_after = load_file(out / PLAIN_FOLDER / "model.safetensors")
    assert not torch.equal(plain_before["classifier.weight"], plain_after["classifier.weight"])


def toy_reference(name: str = "Ann"):
    """An actor reference that fits the tiny plain-and-actor model's actor head."""
    from emotrack.core.actor_reference import ActorReference

    mean = 0.1 * np.random.default_rng(3).standard_normal(32).astype(np.float32)
    return ActorReference(mean=mean, model="whisper-encoder-test", layers=(1, 2),
                          lines=tuple(f"line{i}.wav" for i in range(12)), windows=120, name=name)


def test_a_project_read_against_an_actor_reference_teaches_the_actor_head(tmp_path, tiny_plain_head_dir, capsys):
    """Its keys were made by the actor head, so that head learns; the plain head, which
    did not read them, stays as it was."""
    from emotrack.core.actor_reference import ACTOR_FOLDER
    from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER

    project, emotion = corrected_project(tmp_path / "p1", tiny_plain_head_dir, actor=toy_reference())
    assert load_project(project).actor is not None
    out = tmp_path / "learned"
    code, stdout, stderr = learn(capsys, "--from-projects", project, "--model", tiny_plain_head_dir, "--out", out,
                                 *FAST)
    assert code == 0, stderr
    assert "actor head" in stdout
    report = json.loads((out / "corrections.json").read_text())
    assert report["heads"] == ["actor"] and report["accuracy_after"] >= report["accuracy_before"]
    progress = [json.loads(line) for line in stderr.splitlines()]
    assert [p["heads"] for p in progress if p["stage"] == "features"] == [["actor"]]

    before = corrected_window_share(tiny_plain_head_dir, project, emotion)
    after = corrected_window_share(out, project, emotion)
    assert after > before + 0.2, (before, after)
    for folder, learned in ((ACTOR_FOLDER, True), (PLAIN_FOLDER, False)):
        weights = [(d / folder / "model.safetensors").read_bytes() for d in (tiny_plain_head_dir, out)]
        assert (weights[0] != weights[1]) == learned, folder
    learned = EmotionModel.from_pretrained(out, device="cpu")
    assert learned.actor_temperature == 1.0  # the base head's own, kept
    learned.use_actor(toy_reference())  # references made for the base model still fit


def test_projects_with_and_without_a_reference_teach_each_their_own_head(tmp_path, tiny_plain_head_dir, capsys):
    from emotrack.core.actor_reference import ACTOR_FOLDER
    from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER

    alone, _ = corrected_project(tmp_path / "p1", tiny_plain_head_dir, seconds=6.0, locked=5)
    ann, _ = corrected_project(tmp_path / "p2", tiny_plain_head_dir, seconds=6.0, seed=1, locked=5,
                               actor=toy_reference())
    held, _ = corrected_project(tmp_path / "p3", tiny_plain_head_dir, seconds=6.0, seed=2, locked=5,
                                actor=toy_reference())
    out = tmp_path / "learned"
    code, stdout, stderr = learn(capsys, "--from-projects", alone, ann, held, "--model", tiny_plain_head_dir,
                                 "--out", out, *FAST)
    assert code == 0, stderr
    report = json.loads((out / "corrections.json").read_text())
    assert report["heads"] == ["actor", "plain"] and report["split"] == "held out 1 whole project(s) of 3"
    assert "the plain head for the others" in stdout
    epochs = [p for p in map(json.loads, stderr.splitlines()) if p["stage"] == "training"]
    assert len(epochs) == 50  # 25 for each head
    for folder in (ACTOR_FOLDER, PLAIN_FOLDER):
        assert (tiny_plain_head_dir / folder / "model.safetensors").read_bytes() != \
            (out / folder / "model.safetensors").read_bytes(), folder


def test_a_reference_the_model_cannot_read_is_named_with_its_project(tmp_path, tiny_plain_head_dir, capsys):
    import dataclasses

    project, _ = corrected_project(tmp_path / "p1", tiny_plain_head_dir, seconds=4.0, locked=3,
                                   actor=toy_reference())
    data = load_project(project)
    data.actor = dataclasses.replace(data.actor, model="another-encoder")
    save_project(data, project)
    code, _, stderr = learn(capsys, "--from-projects", project, "--model", tiny_plain_head_dir,
                            "--out", tmp_path / "o", *FAST)
    assert code == 2 and "take.emotrack: the actor reference was made for 'another-encoder'" in stderr


def test_a_heads_folder_learns_into_a_whole_model_with_its_own_heads(tmp_path, tiny_plain_head_dir, capsys):
    """As the bundled fast model (``emotion/fast``) would: the new folder holds the
    checkpoint, the heads folder's heads (the plain one learned) and the voice space that
    the heads folder borrowed from its checkpoint."""
    import shutil

    from emotrack.core.actor_reference import ACTOR_FOLDER
    from emotrack.core.voice_groups import VOICE_SPACE_FILE, VoiceSpace
    from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER, WindowMeanHead, WindowMeanHeadConfig

    checkpoint = tmp_path / "model"
    shutil.copytree(tiny_plain_head_dir, checkpoint)
    rng = np.random.default_rng(0)
    VoiceSpace(layers=(1,), mean=np.zeros(16), scale=np.ones(16), projection=rng.standard_normal((16, 3)),
               centre=np.zeros(3), threshold=2.0).save(checkpoint / ACTOR_FOLDER)
    heads = checkpoint / "fast"
    torch.manual_seed(3)
    WindowMeanHead(WindowMeanHeadConfig(d_model=16, num_labels=6, layers=(1,), temperature=0.9)).save_pretrained(
        heads / PLAIN_FOLDER)
    shutil.copytree(checkpoint / ACTOR_FOLDER, heads / ACTOR_FOLDER, ignore=shutil.ignore_patterns(VOICE_SPACE_FILE))
    project, emotion = corrected_project(tmp_path / "p1", heads, seconds=5.0, locked=4)
    out = tmp_path / "learned"
    code, _, stderr = learn(capsys, "--from-projects", project, "--model", heads, "--out", out, *FAST)
    assert code == 0, stderr
    assert (out / "config.json").is_file() and (out / ACTOR_FOLDER / VOICE_SPACE_FILE).is_file()
    learned = EmotionModel.from_pretrained(out, device="cpu")
    assert learned.plain_head.config.layers == (1,) and learned.temperature == pytest.approx(0.9)
    assert learned.voice_space is not None
    assert (out / PLAIN_FOLDER / "model.safetensors").read_bytes() != \
        (heads / PLAIN_FOLDER / "model.safetensors").read_bytes()
    assert corrected_window_share(out, project, emotion) > corrected_window_share(heads, project, emotion)


def test_wav2vec2_model_learns_from_two_projects(tmp_path, tiny_emotion_model_dir, capsys):
    first, emotion = corrected_project(tmp_path / "p1", tiny_emotion_model_dir, seconds=5.0, locked=4)
    second, _ = corrected_project(tmp_path / "p2", tiny_emotion_model_dir, seconds=4.0, seed=1, locked=3)
    out = tmp_path / "learned"
    code, stdout, stderr = learn(capsys, "--from-projects", first, second, "--model",
                                 tiny_emotion_model_dir, "--out", out, *FAST)
    assert code == 0, stderr
    report = json.loads((out / "corrections.json").read_text())
    assert report["split"].startswith("held out 1 whole project")
    assert report["projects"] == ["take.emotrack", "take.emotrack"]
    assert EmotionModel.from_pretrained(out, device="cpu").labels == list(EMOTIONS)
    assert corrected_window_share(out, first, emotion) > corrected_window_share(tiny_emotion_model_dir, first, emotion)


@pytest.mark.parametrize("family", ["tiny_emotion_model_dir", "tiny_whisper_dir", "tiny_plain_head_dir",
                                    "actor reference"])
def test_held_out_figures_match_the_saved_model(tmp_path, family, request):
    """The accuracy computed on cached pooled features is what the written model gives."""
    from emotrack.ml.emotion.corrections import LearningOptions, learn_from_corrections, load_sources

    actor = toy_reference() if family == "actor reference" else None
    model_dir = request.getfixturevalue("tiny_plain_head_dir" if actor else family)
    project, _ = corrected_project(tmp_path / "p", model_dir, seconds=5.0, locked=4, actor=actor)
    sources = load_sources([project])
    report = learn_from_corrections(sources, model_dir, tmp_path / "out", LearningOptions(epochs=3, lr=0.01),
                                    device="cpu")
    targets = correction_targets(sources[0].project, len(sources[0].samples))
    held = targets.keys[-report.held_out_keys:]
    model = EmotionModel.from_pretrained(tmp_path / "out", device="cpu")
    model.use_actor(actor)
    hits = [np.argmax(model.predict_windows(sources[0].samples, targets.starts[k.windows], targets.window)
                      .mean(axis=0)) == model.labels.index(EMOTIONS[k.label]) for k in held]
    assert report.accuracy_after == pytest.approx(np.mean(hits))


def test_errors_are_one_line(tmp_path, tiny_emotion_model_dir, capsys):
    def error(*argv) -> str:
        code, _, err = learn(capsys, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        return err

    model = ["--model", tiny_emotion_model_dir]
    assert "no project files" in error("--from-projects", *model, "--out", tmp_path / "o")
    assert "no project files" in error("--from-projects", tmp_path, *model, "--out", tmp_path / "o")

    project, _ = corrected_project(tmp_path / "p", tiny_emotion_model_dir, seconds=3.0, locked=0)
    assert "no locked keys" in error("--from-projects", project, *model, "--out", tmp_path / "o")
    assert "must not be the base model" in error("--from-projects", project, *model,
                                                 "--out", tiny_emotion_model_dir)

    (tmp_path / "p" / "take.wav").rename(tmp_path / "p" / "moved.wav")
    assert "audio is missing" in error("--from-projects", project, *model, "--out", tmp_path / "o")
    (tmp_path / "p" / "moved.wav").rename(tmp_path / "p" / "take.wav")

    # A model without "disgust" cannot learn a key that is all disgust.
    from transformers import Wav2Vec2ForSequenceClassification

    four = tmp_path / "four-labels"
    network = Wav2Vec2ForSequenceClassification.from_pretrained(tiny_emotion_model_dir)
    labels = {0: "angry", 1: "happy", 2: "neutral", 3: "sad"}
    network.config.id2label, network.config.label2id = labels, {v: k for k, v in labels.items()}
    network.config.num_labels = 4
    network.classifier = torch.nn.Linear(network.classifier.in_features, 4)
    network.save_pretrained(four)
    data = load_project(project)
    one_hot = np.eye(len(EMOTIONS))
    commands.set_keyframe_values(data, data.keyframes[0].id, one_hot[EMOTIONS.index("disgust")]).redo(data)
    commands.set_keyframe_values(data, data.keyframes[1].id, one_hot[EMOTIONS.index("anger")]).redo(data)
    save_project(data, project)
    assert "disgust" in error("--from-projects", project, "--model", four, "--out", tmp_path / "o")
    assert not (tmp_path / "o").exists()
