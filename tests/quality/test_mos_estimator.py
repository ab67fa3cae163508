"""The supervised quality estimator: features, network, save/load and its trainer, on
tiny configs and synthetic audio."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from emotrack.core import degrade
from emotrack.errors import AudioError, ModelError, ParameterError
from emotrack.ml.quality import mos_training
from emotrack.ml.quality.mos_corpus import RECORDS_FILE
from emotrack.ml.quality.mos_estimator import PESQ_RANGE, MOSConfig, MOSEstimator, MOSNet

from .conftest import harmonic_speech

TINY = MOSConfig(n_mels=16, hidden_channels=8, dilations=(1, 2))


@pytest.fixture
def tiny_net() -> MOSNet:
    torch.manual_seed(0)
    return MOSNet(TINY).eval()


def features(net: MOSNet, samples: np.ndarray) -> torch.Tensor:
    with torch.inference_mode():
        return net.features(torch.from_numpy(samples)[None])[0]


def test_features_ignore_the_recording_level_but_see_clipping(tiny_net):
    speech = harmonic_speech(1.5)
    loud, quiet = features(tiny_net, speech), features(tiny_net, 0.05 * speech)
    torch.testing.assert_close(loud[:-1], quiet[:-1], atol=1e-3, rtol=0)
    clipped = features(tiny_net, degrade.hard_clip(speech, 0.1))
    assert clipped[-1].mean() > 10 * loud[-1].mean()  # the peak-share channel


def test_outputs_are_in_range_with_one_frame_per_hop(tiny_net):
    with torch.inference_mode():
        output = tiny_net(torch.from_numpy(harmonic_speech(1.0))[None])
    assert PESQ_RANGE[0] <= float(output.pesq) <= PESQ_RANGE[1] and 0 <= float(output.stoi) <= 1
    assert output.frame_pesq.shape == (1, 16000 // TINY.hop_length + 1)


@pytest.mark.parametrize("pooling", ["statistics", "attention"])
def test_a_clip_scores_the_same_alone_or_padded_in_a_batch(pooling):
    torch.manual_seed(0)
    net = MOSNet(MOSConfig(n_mels=16, hidden_channels=8, dilations=(1, 2), pooling=pooling)).eval()
    short, long = harmonic_speech(1.0, 1), harmonic_speech(2.0, 2)
    batch = torch.zeros(2, long.size)
    batch[0, : short.size], batch[1] = torch.from_numpy(short), torch.from_numpy(long)
    with torch.inference_mode():
        padded = net(batch, torch.tensor([short.size, long.size]))
        alone = net(torch.from_numpy(short)[None])
    frames = alone.mask.shape[1]
    assert padded.mask[0].sum() == frames
    assert float(padded.pesq[0]) == pytest.approx(float(alone.pesq[0]), abs=1e-5)
    assert float(padded.stoi[0]) == pytest.approx(float(alone.stoi[0]), abs=1e-5)
    torch.testing.assert_close(padded.frame_pesq[0, :frames], alone.frame_pesq[0], atol=1e-5, rtol=0)


def test_an_unknown_pooling_is_refused():
    with pytest.raises(ValueError, match="pooling"):
        MOSNet(MOSConfig(n_mels=16, hidden_channels=8, pooling="max"))


def test_save_and_load_round_trip_in_half_precision(tmp_path, tiny_net):
    tiny_net.save_pretrained(tmp_path / "net", half=True)
    assert next(tiny_net.parameters()).dtype == torch.float32  # saving half leaves the net as it was
    estimator = MOSEstimator.from_pretrained(tmp_path / "net", device="cpu")
    speech = harmonic_speech(1.0)
    score = estimator.score(speech)
    with torch.inference_mode():
        expected = float(tiny_net(torch.from_numpy(speech)[None]).pesq)
    assert score.pesq == pytest.approx(expected, abs=0.02)
    assert score.frame_pesq.shape == score.frame_times.shape
    assert json.loads((tmp_path / "net" / "config.json").read_text())["model_type"] == "mos-estimator"


def test_an_ensemble_folder_averages_its_members(tmp_path, tiny_net):
    torch.manual_seed(5)
    other = MOSNet(MOSConfig(n_mels=16, hidden_channels=8, dilations=(1, 2), pooling="attention")).eval()
    tiny_net.save_pretrained(tmp_path / "ensemble" / "a")
    other.save_pretrained(tmp_path / "ensemble" / "b")
    (tmp_path / "ensemble" / "ensemble.json").write_text('{"members": ["a", "b"]}')
    estimator = MOSEstimator.from_pretrained(tmp_path / "ensemble", device="cpu")
    speech = harmonic_speech(1.0)
    alone = [MOSEstimator(net).score(speech) for net in (tiny_net, other)]
    score = estimator.score(speech)
    assert score.pesq == pytest.approx((alone[0].pesq + alone[1].pesq) / 2, abs=1e-5)
    assert score.stoi == pytest.approx((alone[0].stoi + alone[1].stoi) / 2, abs=1e-5)
    np.testing.assert_allclose(score.frame_pesq, (alone[0].frame_pesq + alone[1].frame_pesq) / 2, atol=1e-5)
    (tmp_path / "ensemble" / "ensemble.json").write_text('{"members": "a"}')
    with pytest.raises(ModelError, match="ensemble.json"):
        MOSEstimator.from_pretrained(tmp_path / "ensemble", device="cpu")


def test_bad_audio_and_bad_folders_are_refused(tmp_path, tiny_net):
    estimator = MOSEstimator(tiny_net)
    for bad, message in ((np.zeros(0), "empty"), (np.full(100, np.nan), "NaN"), (np.zeros((2, 100)), "mono")):
        with pytest.raises(AudioError, match=message):
            estimator.score(bad)
    with pytest.raises(ModelError):
        MOSEstimator.from_pretrained(tmp_path, device="cpu")


def write_corpus(folder, count: int = 12, sources: int = 0) -> None:
    """A corpus in mos_corpus's format whose 'PESQ' falls with the white-noise level;
    ``sources`` > 0: the items share that many clean utterances (else one each)."""
    (folder / "audio").mkdir(parents=True)
    rng = np.random.default_rng(0)
    with (folder / RECORDS_FILE).open("w") as records:
        for index in range(count):
            snr = float(rng.uniform(-5, 30))
            clean = harmonic_speech(float(rng.uniform(1.0, 2.0)), index)
            noisy = degrade.mix_at_snr(clean, degrade.white_noise(clean.size, rng), snr)
            np.save(folder / "audio" / f"{index:06d}.npy", noisy.astype(np.float16))
            records.write(json.dumps({"index": index, "split": "validation" if index % 4 == 0 else "train",
                                      "source": f"u{index % sources if sources else index}", "offset": 0, "samples": clean.size,
                                      "steps": [f"white noise {snr:.1f} dB"], "pesq": 1.04 + 3.6 * (snr + 5) / 35,
                                      "stoi": 0.6 + 0.4 * (snr + 5) / 35}) + "\n")


def train(folder, out, *extra: str) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    mos_training.add_arguments(parser)
    return mos_training.run(parser.parse_args(["--corpus", str(folder), "--out", str(out), "--batch-size", "4",
                                               "--hidden-channels", "8", "--threads", "1", *extra]))


def test_training_saves_the_best_epoch_and_resumes_only_the_same_run(tmp_path):
    write_corpus(tmp_path / "corpus")
    out = tmp_path / "run"
    assert train(tmp_path / "corpus", out, "--epochs", "3", "--max-minutes", "0") == 0
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1]  # stopped after the first epoch
    assert (out / "best" / "model.safetensors").is_file()
    assert train(tmp_path / "corpus", out, "--epochs", "3", "--resume") == 0
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert all(np.isfinite(row["validation_lcc"]) for row in history)
    with pytest.raises(ParameterError, match="--epochs 3"):
        train(tmp_path / "corpus", out, "--epochs", "5", "--resume")
    MOSEstimator.from_pretrained(out / "best", device="cpu").score(harmonic_speech(1.0))


def test_training_needs_both_splits(tmp_path):
    write_corpus(tmp_path / "corpus", count=3)  # index 0 validates, 1-2 train
    records = (tmp_path / "corpus" / RECORDS_FILE).read_text().splitlines()
    (tmp_path / "corpus" / RECORDS_FILE).write_text(records[1] + "\n")
    with pytest.raises(ParameterError, match="train and validation"):
        train(tmp_path / "corpus", tmp_path / "run", "--epochs", "1")


def test_balance_weights_favour_rare_scores_and_average_one():
    pesq = np.array([1.1] * 90 + [4.6] * 10)
    weights = mos_training.balance_weights(pesq)
    assert weights.mean() == pytest.approx(1.0)
    assert weights[-1] == pytest.approx(3 * weights[0])  # sqrt(90 / 10)


def test_ranking_loss_counts_only_misordered_clear_pairs():
    target = torch.tensor([4.5, 3.0, 1.2])
    right = mos_training.ranking_loss(torch.tensor([4.0, 3.0, 1.5]), target)
    wrong = mos_training.ranking_loss(torch.tensor([1.5, 3.0, 4.0]), target)
    assert 0 < right < 0.05 < wrong
    ties = mos_training.ranking_loss(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 3.05]))
    assert ties == 0  # closer than the margin: no order to learn


def test_training_with_the_ranking_loss_runs(tmp_path):
    write_corpus(tmp_path / "corpus")
    assert train(tmp_path / "corpus", tmp_path / "run", "--epochs", "1", "--rank-weight", "0.5") == 0
    with pytest.raises(ParameterError, match="rank-weight"):
        train(tmp_path / "corpus", tmp_path / "run2", "--epochs", "1", "--rank-weight", "-1")


def test_source_batches_hold_every_item_once_in_same_source_groups():
    import random

    sources = [f"u{i % 5}" for i in range(23)]
    chosen = mos_training.source_batches(sources, batch_size=6, per_source=3, rng=random.Random(1))
    assert sorted(i for batch in chosen for i in batch) == list(range(23))
    assert all(len(batch) <= 6 for batch in chosen)
    for batch in chosen:  # whole groups of one source each, a group at most 3
        runs = [batch[i:i + 3] for i in range(0, len(batch), 3)]
        assert all(len({sources[i] for i in run}) <= 2 for run in runs)
    assert len(chosen) == len(mos_training.source_batches(sources, 6, 3, random.Random(2)))


def test_ranking_loss_can_be_limited_to_same_source_pairs():
    target = torch.tensor([4.5, 1.2, 4.5, 1.2])
    sources = torch.tensor([0, 1, 1, 0])
    same = sources[:, None] == sources[None, :]
    # Each utterance's clean item above its degraded one; across utterances item 0 < item 1.
    predicted = torch.tensor([3.0, 4.0, 5.0, 1.0])
    assert mos_training.ranking_loss(predicted, target) > 0.5
    assert mos_training.ranking_loss(predicted, target, same=same) < 0.05
    assert mos_training.ranking_loss(torch.tensor([1.0, 4.0, 1.0, 4.0]), target, same=same) > 1.0


def test_training_with_the_same_source_ranking_runs(tmp_path):
    write_corpus(tmp_path / "corpus", count=16, sources=3)
    assert train(tmp_path / "corpus", tmp_path / "run", "--epochs", "2", "--pair-weight", "0.5",
                 "--items-per-source", "2") == 0
    with pytest.raises(ParameterError, match="items-per-source"):
        train(tmp_path / "corpus", tmp_path / "run2", "--epochs", "1", "--pair-weight", "0.5",
              "--items-per-source", "1")
