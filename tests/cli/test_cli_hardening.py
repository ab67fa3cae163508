"""What the CLI prints stays machine-readable and one line per problem: strict JSON
(never NaN or Infinity) from classify and quality, no raw decoder output on stderr, and
one error line for a hostile project."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from emotrack.cli import classify as classify_cli
from emotrack.cli import quality as quality_cli
from emotrack.json_lines import json_line
from emotrack.cli.main import main
from emotrack.core.atomic import write_json_atomic
from emotrack.core.document import Project
from emotrack.core.project_file import save_project
from emotrack.errors import OutputError

RATE = 16_000


def strict_json(line: str):
    """json.loads that refuses NaN/Infinity, as a strict reader (jq, JavaScript) does."""
    def refuse(token):
        raise AssertionError(f"non-standard JSON constant {token} in {line!r}")
    return json.loads(line, parse_constant=refuse)


def test_json_line_maps_non_finite_numbers_to_null_with_a_note():
    record = {"path": "a.wav", "vqscore": float("nan"), "probabilities": {"anger": np.float32("inf"), "fear": 0.5},
              "regions": [[0.0, float("-inf")]], "count": np.int64(3), "ok": True}
    data = strict_json(json_line(record))
    assert data["vqscore"] is None and data["probabilities"] == {"anger": None, "fear": 0.5}
    assert data["regions"] == [[0.0, None]] and data["count"] == 3 and data["ok"] is True
    assert data["note"] == "not a finite number, written as null: vqscore, probabilities/anger, regions/0/1"


def test_json_line_keeps_finite_records_unchanged():
    record = {"path": "a.wav", "probabilities": {"anger": 0.25, "neutral": 0.75}, "label": "neutral"}
    assert strict_json(json_line(record)) == record


def test_json_line_shortens_a_long_list_of_bad_fields():
    data = strict_json(json_line({"scores": [float("nan")] * 12}))
    assert data["note"].endswith("scores/4 and 7 more")


@pytest.fixture
def wav(tmp_path) -> Path:
    path = tmp_path / "take.wav"
    t = np.arange(RATE) / RATE
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), RATE)
    return path


def test_quality_never_prints_nan(wav, capsys, monkeypatch):
    class NanEstimator:
        model = SimpleNamespace(config=SimpleNamespace(flag_threshold=0.3))

        def score(self, samples):
            return SimpleNamespace(estimated_pesq=None, estimated_stoi=None, vqscore=float("nan"), frame_scores=np.full(10, np.nan),
                                   frame_times=np.arange(10) * 0.016)

    from emotrack.ml.quality import vqscore
    monkeypatch.setattr(vqscore.QualityEstimator, "from_pretrained", classmethod(lambda cls, *a, **k: NanEstimator()))
    assert main(["quality", str(wav)]) == 0
    out = capsys.readouterr().out
    data = strict_json(out.strip())
    assert data["vqscore"] is None and "vqscore" in data["note"]


def test_classify_never_prints_nan(wav, capsys, monkeypatch):
    monkeypatch.setattr(classify_cli, "load_emotion_model", lambda *a: object())
    monkeypatch.setattr(classify_cli, "classify_clip",
                        lambda clip, model, settings: {"anger": float("nan"), "neutral": 0.5})
    assert main(["classify", str(wav)]) == 0
    data = strict_json(capsys.readouterr().out.strip())
    assert data["probabilities"]["anger"] is None and data["note"].endswith("probabilities/anger")


def test_quality_record_shape_is_unchanged_for_finite_scores():
    class Estimator:
        def score(self, samples):
            return SimpleNamespace(estimated_pesq=None, estimated_stoi=None, vqscore=0.81234567, frame_scores=np.full(10, 0.9),
                                   frame_times=np.arange(10) * 0.016)
    record = quality_cli.quality_record("take.wav", np.zeros(10, np.float32), Estimator(), 0.3)
    assert strict_json(json_line(record)) == {"path": "take.wav", "vqscore": 0.8123, "flagged_seconds": [],
                                              "problems": []}


def test_a_json_file_is_never_written_with_nan(tmp_path):
    path = tmp_path / "curves.json"
    path.write_text("previous")
    with pytest.raises(OutputError, match="not finite .* the previous file is kept"):
        write_json_atomic(path, {"anger": [0.1, float("nan")]})
    assert path.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.json"]


def test_a_damaged_mp3_gives_one_warning_line_and_no_decoder_output(tmp_path, capfd, monkeypatch):
    clean = tmp_path / "clean.mp3"
    sf.write(clean, (0.3 * np.sin(np.arange(2 * RATE) * 0.05)).astype(np.float32), RATE, format="MP3")
    data = bytearray(clean.read_bytes())
    rng = np.random.default_rng(1)
    for i in range(len(data) // 8, len(data), 97):
        data[i] = int(rng.integers(256))
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(classify_cli, "load_emotion_model", lambda *a: object())
    monkeypatch.setattr(classify_cli, "classify_clip", lambda clip, model, settings: {"anger": 0.2, "neutral": 0.8})
    assert main(["classify", str(damaged)]) == 0
    out, err = capfd.readouterr()
    assert strict_json(out.strip())["label"] == "neutral"
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("emotrack: warning: damaged.mp3: the decoder reported damaged or odd data")


@pytest.mark.parametrize("text, words", [
    ('{"format": "emotrack-project", "schema_version": 1, "labels": ' + "[" * 50_000, "nested too deeply"),
    ("", "is empty"),
    (None, "keyframes/0/time: NaN is not a usable number"),
])
def test_export_of_a_hostile_project_is_one_error_line(tmp_path, capsys, text, words):
    path = save_project(Project(), tmp_path / "shot.emotrack")
    if text is None:
        data = json.loads(path.read_text())
        data["keyframes"] = [{"time": float("nan"), "values": {"neutral": 1.0}}]
        text = json.dumps(data)
    path.write_text(text)
    code = main(["export", str(path), "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [err.strip()] and words in err
    assert not (tmp_path / "out.csv").exists()


def test_learning_logs_are_strict_json_even_when_the_loss_diverges():
    # learn-from-corrections prints one JSON line per stage; a diverged loss is NaN.
    data = strict_json(json_line({"stage": "training", "epoch": 1, "epochs": 4, "loss": round(float("nan"), 4)}))
    assert data["loss"] is None and data["note"] == "not a finite number, written as null: loss"
