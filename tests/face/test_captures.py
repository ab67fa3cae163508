"""Live Link Face captures as targets: our arkit-csv export read back, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from emotrack.core.face_exports import arkit_csv_text, export_arkit_csv
from emotrack.errors import ParameterError
from emotrack.ml.face.captures import (capture_files, check_lengths, read_live_link_csv, resampled_targets)


def random_curves(frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (frames, 52)).astype(np.float32)


def test_round_trip_at_the_encoder_rate(tmp_path):
    weights = random_curves(120)
    path = export_arkit_csv(weights, 50.0, tmp_path / "take.csv")
    take = read_live_link_csv(path)
    np.testing.assert_allclose(take.seconds, np.arange(120) / 50, atol=1e-9)
    np.testing.assert_allclose(resampled_targets(take, 120, 50.0), weights, atol=1e-6)


def test_sixty_fps_take_is_resampled_linearly_to_fifty(tmp_path):
    t = np.arange(150) / 60.0  # 2.5 s, crosses two second boundaries
    weights = np.zeros((150, 52), np.float32)
    weights[:, 0] = t / t[-1]  # a ramp: linear resampling must keep it a ramp
    take = read_live_link_csv(export_arkit_csv(weights, 60.0, tmp_path / "take.csv"))
    targets = resampled_targets(take, 124, 50.0)
    np.testing.assert_allclose(targets[:, 0], np.arange(124) / 50 / t[-1], atol=1e-5)
    assert np.all(targets[:, 1:] == 0)


def test_timecode_start_is_the_audio_start(tmp_path):
    text = arkit_csv_text(random_curves(60), 30.0).replace("00:00:00:", "01:02:03:").replace("00:00:01:", "01:02:04:")
    (tmp_path / "late.csv").write_text(text)
    take = read_live_link_csv(tmp_path / "late.csv")
    assert take.seconds[0] == 0 and take.seconds[30] == pytest.approx(1.0)


def test_missing_curve_columns_are_named(tmp_path):
    lines = arkit_csv_text(random_curves(60), 30.0).splitlines()
    header = lines[0].split(",")
    drop = header.index("JawOpen")
    (tmp_path / "bad.csv").write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop)
                                                for line in lines))
    with pytest.raises(ParameterError, match="jawOpen"):
        read_live_link_csv(tmp_path / "bad.csv")
    (tmp_path / "plain.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ParameterError, match="Timecode"):
        read_live_link_csv(tmp_path / "plain.csv")


def test_missing_audio_and_mismatched_lengths_are_errors(tmp_path):
    export_arkit_csv(random_curves(60), 30.0, tmp_path / "take.csv")
    with pytest.raises(ParameterError, match="no audio for capture take.csv"):
        capture_files(tmp_path)
    sf.write(tmp_path / "take.wav", np.zeros(16000 * 2, np.float32), 16000)
    assert capture_files(tmp_path) == [(tmp_path / "take.csv", tmp_path / "take.wav")]
    take = read_live_link_csv(tmp_path / "take.csv")
    check_lengths(take, 2.1, "take.csv")
    with pytest.raises(ParameterError, match="lasts 1.97 s but its audio 4.00 s"):
        check_lengths(take, 4.0, "take.csv")


def test_short_take_needs_its_fps(tmp_path):
    path = export_arkit_csv(random_curves(20), 30.0, tmp_path / "short.csv")
    with pytest.raises(ParameterError, match="give its fps"):
        read_live_link_csv(path)
    assert read_live_link_csv(path, fps=30.0).duration == pytest.approx(19 / 30)
