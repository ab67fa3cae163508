"""``emotrack train face --captures``: a tiny end-to-end run on two random takes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from emotrack.cli.main import main
from emotrack.core.face_exports import export_arkit_csv
from emotrack.ml.face.modeling import load_face_net


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def write_take(folder, stem: str, seconds: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frames = int(seconds * 30)
    export_arkit_csv(rng.uniform(0, 1, (frames, 52)).astype(np.float32), 30.0, folder / f"{stem}.csv")
    sf.write(folder / f"{stem}.wav", (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32), 16000)


def test_two_captures_train_a_loadable_network(tmp_path, tiny_whisper_model_dir):
    takes = tmp_path / "takes"
    takes.mkdir()
    write_take(takes, "take1", 1.5, 0)
    write_take(takes, "take2", 1.2, 1)
    out = tmp_path / "run"
    code = main(["train", "face", "--captures", str(takes), "--out", str(out), "--encoder",
                 str(tiny_whisper_model_dir), "--epochs", "2", "--batch-size", "2", "--threads", "1"])
    assert code == 0
    net = load_face_net(out / "best")
    assert (net.config.n_layers_in, net.config.width_in) == (3, 16)  # the tiny encoder's embeddings + 2 layers
    with torch.inference_mode():
        weights = net(torch.zeros(3, 40, 16), torch.zeros(6), fps=30)
    assert weights.shape == (24, 52)


def test_a_take_without_audio_is_a_clear_error(tmp_path, tiny_whisper_model_dir, capsys):
    takes = tmp_path / "takes"
    takes.mkdir()
    write_take(takes, "take1", 1.5, 0)
    (takes / "take1.wav").unlink()
    code = main(["train", "face", "--captures", str(takes), "--out", str(tmp_path / "run"), "--encoder",
                 str(tiny_whisper_model_dir)])
    assert code != 0
    assert "no audio for capture take1.csv" in capsys.readouterr().err


def test_no_source_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "face", "--out", str(tmp_path / "run")]) != 0
    assert "nothing to train on" in capsys.readouterr().err
