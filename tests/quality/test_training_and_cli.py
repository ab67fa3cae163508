"""Training entry point (split, checkpoint, resume) and the ``quality`` CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from emotrack.cli import quality as quality_cli
from emotrack.errors import ParameterError
from emotrack.ml.quality import training
from emotrack.ml.quality.vqscore import QualityEstimator, VQScoreModel

from .conftest import SAMPLE_RATE, harmonic_speech


@pytest.fixture
def clean_dir(tmp_path) -> Path:
    directory = tmp_path / "clean"
    directory.mkdir()
    for speaker in range(12):
        sf.write(directory / f"{100 + speaker}-1-0000.flac", harmonic_speech(1.2, speaker),
                 SAMPLE_RATE)
    return directory


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    training.add_arguments(parser)
    return parser.parse_args(argv)


def test_benchmark_split_is_by_speaker_and_disjoint():
    paths = [Path(f"{s}-{c}-000{u}.flac") for s in range(1000, 1060) for c in (1, 2) for u in (0, 1)]
    train, validation, benchmark = training.benchmark_split(paths)
    speakers = [{training.speaker_of(p) for p in part} for part in (train, validation, benchmark)]
    assert not (speakers[0] & speakers[1] or speakers[0] & speakers[2] or speakers[1] & speakers[2])
    assert len(train) + len(validation) + len(benchmark) == len(paths)
    assert len(speakers[2]) == 6 and len(speakers[1]) >= 1
    assert training.benchmark_split(list(reversed(paths)))[2] == sorted(benchmark)


def test_crop_sampler_gain_range():
    sampler = training.CropSampler([harmonic_speech(1.0)], 8000, seed=0)
    batch = sampler.batch(32)
    peaks = batch.abs().max(dim=1).values
    assert batch.shape == (32, 8000)
    assert peaks.min() >= 0.05 - 1e-4 and peaks.max() <= 2.0 + 1e-4


def test_train_checkpoint_and_resume(clean_dir, tmp_path, tiny_config):
    out = tmp_path / "model"
    config_path = tmp_path / "tiny.json"
    config_path.write_text(json.dumps(tiny_config.to_dict()))
    common = ["--data", str(clean_dir), "--out", str(out), "--batch-size", "2",
              "--config", str(config_path),
              "--crop-seconds", "0.5", "--checkpoint-every", "2"]
    assert training.run(parse(common + ["--steps", "2"])) == 0
    first = VQScoreModel.from_pretrained(out)
    assert first.config == tiny_config
    assert bool(first.quantizer.initialized)
    state = torch.load(out / "checkpoint" / training.STATE_NAME, weights_only=False)
    assert state["step"] == 2
    files = json.loads((out / "training_files.json").read_text())
    assert len(files["train"]) < 12  # benchmark and validation speakers held out

    assert training.run(parse(common + ["--steps", "4", "--resume"])) == 0
    state = torch.load(out / "checkpoint" / training.STATE_NAME, weights_only=False)
    assert state["step"] == 4
    resumed = VQScoreModel.from_pretrained(out)
    assert not torch.equal(first.encoder.convs[0].weight, resumed.encoder.convs[0].weight)


def test_train_rejects_bad_arguments(tmp_path):
    with pytest.raises(ParameterError):
        training.run(parse(["--data", str(tmp_path), "--out", str(tmp_path / "o")]))
    with pytest.raises(ParameterError):
        training.run(parse(["--data", str(tmp_path), "--out", str(tmp_path / "o"),
                            "--steps", "0"]))


def test_quality_record_json_shape(tiny_model):
    estimator = QualityEstimator(tiny_model)
    noisy = harmonic_speech(2.0) + 0.3 * np.random.default_rng(0).standard_normal(32000)
    record = quality_cli.quality_record("take.wav", noisy.astype(np.float32), estimator, 0.99)
    assert set(record) == {"path", "vqscore", "flagged_seconds", "problems"}
    assert record["path"] == "take.wav"
    assert "noise" in {problem["kind"] for problem in record["problems"]}  # white noise at about 0 dB SNR
    assert -1 <= record["vqscore"] <= 1
    assert all(len(region) == 2 and region[0] < region[1] for region in record["flagged_seconds"])
    assert record["flagged_seconds"]  # threshold 0.99 flags almost everything
    json.dumps(record)


def test_quality_record_leads_with_the_estimates_when_the_estimator_is_there(tiny_model):
    import torch

    from emotrack.ml.quality.mos_estimator import MOSConfig, MOSEstimator, MOSNet

    torch.manual_seed(0)
    estimator = QualityEstimator(tiny_model, mos=MOSEstimator(MOSNet(MOSConfig(n_mels=16, hidden_channels=8))))
    record = quality_cli.quality_record("take.wav", harmonic_speech(1.0), estimator, 0.5)
    assert list(record)[:4] == ["path", "estimated_pesq", "estimated_stoi", "vqscore"]
    assert 1.04 <= record["estimated_pesq"] <= 4.64 and 0 <= record["estimated_stoi"] <= 1


def test_quality_cli_prints_one_json_line_per_file(tiny_model, tmp_path, capsys):
    model_dir = tmp_path / "model"
    tiny_model.save_pretrained(model_dir)
    paths = []
    for index in range(2):
        path = tmp_path / f"take{index}.wav"
        sf.write(path, harmonic_speech(1.5, index), SAMPLE_RATE)
        paths.append(path)
    parser = argparse.ArgumentParser()
    quality_cli.register(parser.add_subparsers())
    args = parser.parse_args(["quality", *map(str, paths), "--model", str(model_dir),
                              "--device", "cpu", "--threshold", "-1"])
    assert args.func(args, []) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["path"] for r in records] == [str(p) for p in paths]
    assert all(r["flagged_seconds"] == [] for r in records)  # nothing is below -1

    args.threshold = 1.5
    with pytest.raises(ParameterError):
        quality_cli.run(args, [])
