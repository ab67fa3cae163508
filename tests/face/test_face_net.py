"""The face network: shapes, the analysis/articulation split, training and checkpoints.

Small configs and a synthetic rig keep these fast; no shared data is needed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emotrack.core.emotions import EMOTIONS
from emotrack.core.face_arkit import ARKIT_INDEX
from emotrack.core.face_lips import CLOSED_MM, LipProbe
from emotrack.core.phonemes import phone_segments
from emotrack.errors import ModelError, ParameterError
from emotrack.ml.face.modeling import FaceNet, FaceNetConfig, load_face_net, resample_frames, save_face_net
from emotrack.ml.face.training import (FaceExample, TrainSettings, VertexLoss, emotion_vector, evaluate,
                                       train_face_net)

SMALL = dict(n_layers_in=3, width_in=16, d_model=24, dropout=0.0)


def small_net(seed: int = 0) -> FaceNet:
    torch.manual_seed(seed)
    return FaceNet(FaceNetConfig(**SMALL)).eval()


def emotions_of(name: str, frames: int | None = None) -> torch.Tensor:
    vector = torch.zeros(len(EMOTIONS))
    vector[EMOTIONS.index(name)] = 1.0
    return vector if frames is None else vector.expand(frames, -1)


def test_default_network_is_small_and_sees_half_a_second():
    model = FaceNet()
    assert sum(p.numel() for p in model.parameters()) <= 1_000_000
    assert 0.4 <= model.config.receptive_frames / 50 <= 0.6


def test_shapes_and_range():
    model = small_net()
    hidden = torch.randn(3, 100, 16) * 5
    with torch.inference_mode():
        weights = model(hidden, emotions_of("joy", 100), fps=30)
        batched = model(hidden.expand(2, -1, -1, -1), emotions_of("joy"), fps=30)
        native = model(hidden, emotions_of("joy"), fps=50)
    assert weights.shape == (60, 52)
    assert batched.shape == (2, 60, 52)
    assert native.shape == (100, 52)
    assert float(weights.min()) >= 0 and float(weights.max()) <= 1
    torch.testing.assert_close(batched[0], weights)


def test_resampling_is_linear_between_frames():
    ramp = torch.arange(10, dtype=torch.float32)[None, :, None]  # value = frame index at 50 Hz
    out = resample_frames(ramp, 50.0, 25.0)
    torch.testing.assert_close(out[0, :, 0], torch.arange(5, dtype=torch.float32) * 2)
    assert resample_frames(ramp, 50.0, 30.0).shape == (1, 6, 1)
    torch.testing.assert_close(resample_frames(ramp, 50.0, 30.0)[0, 1, 0], torch.tensor(50 / 30))


def test_articulate_alone_equals_the_full_forward():
    model = small_net()
    hidden = torch.randn(3, 80, 16)
    emotions = torch.rand(80, len(EMOTIONS))
    with torch.inference_mode():
        features = model.analysis(hidden)
        torch.testing.assert_close(model.articulate(features, emotions, 30), model(hidden, emotions, 30))


def test_emotion_change_changes_the_face_but_not_the_analysis():
    model = small_net()
    hidden = torch.randn(3, 80, 16)
    with torch.inference_mode():
        features = model.analysis(hidden)
        calm = model.articulate(features, emotions_of("neutral", 80), 30)
        angry = model.articulate(features, emotions_of("anger", 80), 30)
        again = model.analysis(hidden)
    assert float((calm - angry).abs().max()) > 1e-4
    torch.testing.assert_close(again, features)


def test_bad_inputs_raise_parameter_error():
    model = small_net()
    with pytest.raises(ParameterError):
        model(torch.randn(3, 10, 16), torch.rand(9, len(EMOTIONS)))
    with pytest.raises(ParameterError):
        model(torch.randn(4, 10, 16), emotions_of("joy"))  # wrong layer count
    with pytest.raises(ParameterError):
        model.articulate(torch.randn(10, 24), emotions_of("joy"), fps=0)
    with pytest.raises(ParameterError):
        emotion_vector("surprise", True)


def test_emotion_vector_puts_the_rest_on_neutral():
    weak = emotion_vector("joy", strong=False)
    assert weak[EMOTIONS.index("joy")] == pytest.approx(0.6)
    assert weak[EMOTIONS.index("neutral")] == pytest.approx(0.4)
    assert emotion_vector("neutral", strong=False)[EMOTIONS.index("neutral")] == 1.0


def synthetic_examples(count: int, rng: np.random.Generator) -> list[FaceExample]:
    """Clips whose 'encoder states' say which phone is spoken, with the matching targets."""
    alphabet = ["M", "AA", "P", "IY", "S", "OW"]
    codes = {p: rng.standard_normal(16).astype(np.float32) for p in alphabet}
    examples = []
    for _ in range(count):
        rows, t = [["SIL", 0.0, 0.2]], 0.2
        for phone in rng.choice(alphabet, 6):
            length = float(rng.uniform(0.06, 0.15))
            rows.append([str(phone), t, t + length])
            t += length
        rows.append(["SIL", t, t + 0.2])
        frames = round((t + 0.2) * 50)
        states = np.zeros((3, frames, 16), np.float32)
        for phone, start, end in rows:
            if phone != "SIL":
                states[:, round(start * 50):round(end * 50)] = codes[phone]
        examples.append(FaceExample(lambda s=states: s, phone_segments(rows),
                                    emotion_vector(str(rng.choice(EMOTIONS)), True), frames))
    return examples


def test_a_tiny_training_run_lowers_the_vertex_loss(tmp_path, tiny_rig):
    examples = synthetic_examples(8, np.random.default_rng(0))
    loss = VertexLoss(tiny_rig, subset=3)
    assert len(loss.lips) >= 1
    config = FaceNetConfig(**SMALL)
    settings = TrainSettings(epochs=40, batch_size=4, lr=1e-2, seed=3)
    torch.manual_seed(settings.seed)
    before = evaluate(FaceNet(config), examples, loss)
    train_face_net(examples, examples, loss, tmp_path / "run", settings, config, log=lambda _: None)
    after = evaluate(load_face_net(tmp_path / "run" / "best"), examples, loss)
    assert after.loss < 0.5 * before.loss
    # Resuming a finished run trains no further epochs and keeps the state.
    lines = []
    train_face_net(examples, examples, loss, tmp_path / "run", settings, config, log=lines.append)
    assert lines == ["resumed at epoch 40 (best validation %.3f)" % torch.load(
        tmp_path / "run" / "state.pt", weights_only=False)["best"]]


def test_vertex_loss_is_zero_for_perfect_predictions_and_counts_velocity(tiny_rig):
    loss = VertexLoss(tiny_rig)
    target = torch.rand(2, 10, 52)
    mask = torch.ones(2, 10)
    assert float(loss(target, target, mask)) == 0.0
    shifted = target.clone()
    shifted[:, 5:] += 0.1  # a step: position error and one velocity spike
    positions_only = VertexLoss(tiny_rig, velocity_weight=0.0)
    assert float(loss(shifted, target, mask)) > float(positions_only(shifted, target, mask)) > 0


def test_checkpoint_round_trip(tmp_path):
    model = small_net()
    save_face_net(model, tmp_path / "face")
    loaded = load_face_net(tmp_path / "face")
    assert loaded.config == model.config
    assert next(loaded.parameters()).dtype == torch.float32
    hidden, emotions = torch.randn(3, 40, 16), emotions_of("sadness")
    with torch.inference_mode():
        torch.testing.assert_close(loaded(hidden, emotions), model(hidden, emotions), atol=5e-3, rtol=0)
    with pytest.raises(ModelError):
        load_face_net(tmp_path / "missing")


def test_lip_weight_makes_lip_errors_count_more(tiny_rig):
    target = torch.zeros(1, 4, 52)
    predicted = target.clone()
    predicted[..., ARKIT_INDEX["mouthClose"]] = 0.5  # moves only the lip vertex
    mask = torch.ones(1, 4)
    plain, lips_first = VertexLoss(tiny_rig), VertexLoss(tiny_rig, lip_weight=10.0)
    assert float(lips_first(predicted, target, mask)) > 2 * float(plain(predicted, target, mask)) > 0


def test_closure_term_charges_lips_left_open_at_a_bilabial_only():
    from emotrack.core.face_rig import load_face_rig

    rig = load_face_rig()  # the bundled ICT rig: the tiny one's lips are a centimetre grid
    jaw, close = ARKIT_INDEX["jawOpen"], ARKIT_INDEX["mouthClose"]
    target = torch.zeros(1, 4, 52)
    target[..., jaw] = 0.3
    target[0, 1:3, close] = 0.3  # frames 1-2 shut the lips over the open jaw, as for an /m/
    probe = LipProbe(rig)
    assert list(probe.opening_mm(target[0].numpy()) < CLOSED_MM) == [False, True, True, False]
    mask = torch.ones(1, 4)
    plain, closing = VertexLoss(rig), VertexLoss(rig, closure_weight=5.0)
    assert float(closing.closure_gap(target, target, mask)) == 0.0
    ajar = target.clone()
    ajar[0, 1:3, close] = 0.15  # half shut where the target shuts
    gap = float(closing.closure_gap(ajar, target, mask))
    assert gap == pytest.approx((0.15 * probe.opening_row[close]) ** 2, rel=1e-3)
    rng = np.random.default_rng(0)
    assert float(closing(ajar, target, mask, np.random.default_rng(0))) == pytest.approx(
        float(plain(ajar, target, mask, rng)) + 5.0 * gap, rel=1e-4)
    assert float(closing(ajar, target, mask, closure=False)) == pytest.approx(float(plain(ajar, target, mask)))
    firmer = target.clone()
    firmer[..., close] = 0.4  # shut firmer than the target, and shut where it opens: no closure cost
    assert float(closing.closure_gap(firmer, target, mask)) == 0.0


def test_evaluation_counts_closed_bilabials(tiny_rig):
    examples = synthetic_examples(3, np.random.default_rng(2))
    scored = evaluate(FaceNet(FaceNetConfig(**SMALL)), examples, VertexLoss(tiny_rig, subset=3))
    assert scored.bilabials == sum(seg.phone in {"P", "B", "M"} for e in examples for seg in e.phones)
    assert 0 <= scored.closed <= scored.bilabials and "bilabials closed" in str(scored)


def test_bundled_face_network_loads_and_follows_the_emotion():
    from pathlib import Path

    bundled = Path(__file__).resolve().parents[2] / "resources" / "models" / "face"
    model = load_face_net(bundled)
    assert sum(p.numel() for p in model.parameters()) <= 1_000_000
    hidden = torch.randn(7, 50, 512)
    with torch.inference_mode():
        features = model.analysis(hidden)
        joy = model.articulate(features, emotions_of("joy"), 30)
        sad = model.articulate(features, emotions_of("sadness"), 30)
    smile = ARKIT_INDEX["mouthSmileLeft"]
    assert joy.shape == (30, 52)
    assert float(joy[:, smile].mean()) > float(sad[:, smile].mean()) + 0.2


def test_synthetic_sentences_split_into_disjoint_training_and_held_out_sets():
    from emotrack.ml.face.synthetic_speech import SENTENCES
    from emotrack.ml.face.training import TEST_SENTENCES, TRAIN_SENTENCES

    assert set(TRAIN_SENTENCES).isdisjoint(TEST_SENTENCES)
    assert set(TRAIN_SENTENCES) | set(TEST_SENTENCES) == set(SENTENCES)
    assert len(TEST_SENTENCES) == len(SENTENCES[::4])


def test_a_fine_tune_logs_the_initial_networks_validation_loss_first(tmp_path, tiny_rig):
    examples = synthetic_examples(4, np.random.default_rng(1))
    loss = VertexLoss(tiny_rig, subset=3)
    config = FaceNetConfig(**SMALL)
    torch.manual_seed(0)
    initial = FaceNet(config)
    lines = []
    train_face_net(examples, examples, loss, tmp_path / "run", TrainSettings(epochs=1, batch_size=4, lr=1e-3),
                   config, log=lines.append, initial=initial)
    assert lines[0] == f"epoch 0 (initial network): validation {evaluate(initial, examples, loss)}"
    assert lines[1].startswith("epoch 1: ")
