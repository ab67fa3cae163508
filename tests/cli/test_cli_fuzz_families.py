"""One regression test per family of bad input that ``scripts/fuzz_cli.py`` generates
(issue 14): each runs the real command line on one input of the family and checks the
promise: exit 0 or 2, stderr one ``emotrack: error:`` line (or warnings on success), no
traceback, strict JSON, and an existing file at ``-o`` unchanged when the command fails.
The script's own generators and judge are smoke-tested at the end."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.cli import analyze as analyze_cli
from emotrack.cli import classify as classify_cli
from emotrack.cli.main import main
from emotrack.core.document import Project
from emotrack.core.project_file import save_project

RATE = 16_000
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fuzz_cli.py"


@pytest.fixture
def fake_model(monkeypatch):
    """classify without loading a network: what is tested is the input handling."""
    monkeypatch.setattr(classify_cli, "load_emotion_model", lambda *a: object())
    monkeypatch.setattr(classify_cli, "classify_clip", lambda clip, model, settings: {"anger": 0.2, "neutral": 0.8})


def run(argv, capfd, files: int = 1):
    """main(argv) and the promise checked; ``files``: error lines allowed (classify and
    quality give one per bad file of several)."""
    code = main([str(a) for a in argv])
    out, err = capfd.readouterr()
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    if code == 2:
        errors = [line for line in lines if line.startswith("emotrack: error: ")]
        assert 1 <= len(errors) <= files and all(line.startswith(("emotrack: error: ", "emotrack: warning: "))
                                        for line in lines), err
    else:
        assert code == 0, err
        assert all(line.startswith(("emotrack: warning: ", "wrote ")) for line in lines), err
    for line in out.strip().splitlines():
        json.loads(line, parse_constant=lambda token: pytest.fail(f"{token} in {line}"))
    return code, out, lines


def voice(n: int = RATE) -> np.ndarray:
    t = np.arange(n) / RATE
    return (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)


def planted(path: Path) -> str:
    path.write_bytes(b"an existing file\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_wav_header_that_lies_about_its_format_tag(tmp_path, capfd, fake_model):
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 16000, 1, 0)  # 0 bits per sample
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 1) + b"\x02"
    body += b"data" + struct.pack("<I", 0xFFFFFFFF) + b"\x02"
    path = tmp_path / "lying.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", 4) + body)
    code, _, lines = run(["classify", path], capfd)
    assert code == 2 and "lying.wav" in lines[-1]


@pytest.mark.parametrize("rate", [1, 10_000_000])
def test_wav_header_with_an_absurd_rate(tmp_path, capfd, fake_model, rate):
    path = tmp_path / "rate.wav"
    sf.write(path, voice(), RATE)
    data = bytearray(path.read_bytes())
    data[24:28] = struct.pack("<I", rate)
    path.write_bytes(bytes(data))
    code, _, lines = run(["classify", path], capfd)
    assert code == 2 and "sample rate" in lines[-1]


@pytest.mark.parametrize("n", [1, 2, 400])
def test_tiny_clip(tmp_path, capfd, fake_model, n):
    path = tmp_path / "tiny.wav"
    sf.write(path, voice(n), RATE)
    code, out, lines = run(["classify", path], capfd)
    assert code == 2 and "too short" in lines[-1] and json.loads(out)["error"]


@pytest.mark.parametrize("value", [3e38, np.nan, np.inf])
def test_extreme_sample_values(tmp_path, capfd, fake_model, value):
    x = voice().astype(np.float64)
    x[100] = value
    path = tmp_path / "extreme.wav"
    sf.write(path, x, RATE, subtype="DOUBLE")
    code, _, lines = run(["classify", path], capfd)
    assert code == 2 and "extreme.wav" in lines[-1]


def test_corrupt_compressed_audio(tmp_path, capfd, fake_model):
    clean = tmp_path / "clean.flac"
    sf.write(clean, voice(), RATE)
    data = bytearray(clean.read_bytes())
    rng = random.Random(3)
    for _ in range(40):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    bad = tmp_path / "bad.flac"
    bad.write_bytes(bytes(data[: len(data) * 2 // 3]))
    run(["classify", bad], capfd)  # loads what it can, or refuses: either way one line


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + bytes(200), b"hello\n", b"\xef\xbb\xbfRIFF"])
def test_non_audio_file_with_an_audio_name(tmp_path, capfd, fake_model, content):
    path = tmp_path / "take.mp3"
    path.write_bytes(content)
    code, _, lines = run(["classify", path], capfd)
    assert code == 2 and "take.mp3" in lines[-1]


def test_fifo_and_dev_files_never_block(tmp_path, capfd, fake_model):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    code, _, lines = run(["classify", fifo], capfd)
    assert code == 2 and "FIFO" in lines[-1]
    code, _, lines = run(["classify", "/dev/zero"], capfd)
    assert code == 2 and "not a regular file" in lines[-1]


@pytest.fixture
def project_file(tmp_path) -> Path:
    from emotrack.core import commands as C

    project = Project()
    C.add_keyframe(project, 0.0)[0].redo(project)
    return save_project(project, tmp_path / "shot.emotrack")


@pytest.mark.parametrize("output", ["{d}", "{d}/file.txt/out.csv", ".", "", "{d}/" + "a" * 300 + ".csv",
                                    "{d}/missing/out.csv"])
def test_bad_output_paths(tmp_path, capfd, project_file, output):
    (tmp_path / "file.txt").write_text("x")
    code, _, lines = run(["export", project_file, "-o", output.replace("{d}", str(tmp_path))], capfd)
    assert code == 2 or output == "{d}/missing/out.csv"


def test_a_newline_in_the_output_path_stays_one_line(tmp_path, capfd, project_file):
    """Regression (fuzz_cli paths): 'wrote PATH' with a newline in PATH was two lines."""
    target = tmp_path / "out\nnewline.csv"
    code, _, lines = run(["export", project_file, "-o", target], capfd)
    assert code == 0 and target.exists() and lines == [f"wrote {tmp_path}/out\\nnewline.csv"]


def test_a_newline_in_an_error_path_stays_one_line(tmp_path, capfd, fake_model):
    path = tmp_path / "two\nlines.wav"
    path.write_bytes(b"not audio")
    code, _, lines = run(["classify", path], capfd)
    assert code == 2 and len(lines) == 1 and "two\\nlines.wav" in lines[0]


@pytest.mark.parametrize("mutate", ["truncate", "nan", "huge-time", "values-1000"])
def test_bad_project_keeps_the_existing_export(tmp_path, capfd, project_file, mutate):
    text = project_file.read_text()
    data = json.loads(text)
    if mutate == "truncate":
        text = text[: len(text) // 2]
    else:
        key = data["keyframes"][0]
        if mutate == "nan":
            key["time"] = float("nan")
        elif mutate == "huge-time":
            key["time"] = 1e6
        else:
            key["values"] = {name: 1000.0 for name in key["values"]}
        text = json.dumps(data)
    project_file.write_text(text)
    out = tmp_path / "out.csv"
    before = planted(out)
    code, _, lines = run(["export", project_file, "-o", out], capfd)
    assert code == 2 and "shot.emotrack" in lines[-1]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "shot.emotrack"]


@pytest.mark.parametrize("argv, words", [
    (["exprot", "x.emotrack"], "did you mean 'export'"),
    (["analyze", "{wav}", "--fps", "0"], "--fps"),
    (["analyze", "{wav}", "--window", "nan"], "--window"),
    (["analyze", "{wav}", "--interval", "nan"], "interval"),
    (["analyze", "{wav}", "--strength", "anger=nan"], "strength"),
    (["analyze", "{wav}", "--contrast", "-1"], "contrast"),
    (["classify", "{wav}", "--channel", "-1"], "channel"),
    (["classify", "{wav}", "--raw-rate", "0"], "raw sample rate"),
])
def test_odd_cli_arguments(tmp_path, capfd, fake_model, monkeypatch, argv, words):
    monkeypatch.setattr(analyze_cli, "load_emotion_model", lambda *a: pytest.fail("options are checked first"))
    wav = tmp_path / "take.wav"
    sf.write(wav, voice(), RATE)
    code, _, lines = run([a.replace("{wav}", str(wav)) for a in argv] + (["-o", tmp_path / "o.emotrack"]
                                                                       if argv[0] == "analyze" else []), capfd)
    assert code == 2 and words in lines[-1]


def _fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_cli"] = module
    spec.loader.exec_module(module)
    return module


def test_the_fuzz_script_generates_every_family_and_its_judge_catches_failures(tmp_path):
    fuzz = _fuzz_module()
    cases = fuzz.make_cases(list(fuzz.FAMILIES), 3 * len(fuzz.FAMILIES), seed=0)
    assert {c["family"] for c in cases} == set(fuzz.FAMILIES)
    case = {"argv": ["classify", "x.wav"], "plant": None}
    assert fuzz.judge(case, tmp_path, 2, "", "emotrack: error: x.wav is empty\n", None, 0.1) == []
    assert "traceback" in fuzz.judge(case, tmp_path, 3, "", "Traceback (most recent call last):\n", None, 0.1)
    assert "stderr not one error line" in fuzz.judge(case, tmp_path, 2, "", "emotrack: error: a\nb\n", None, 0.1)
    assert "non-strict JSON on stdout" in fuzz.judge(case, tmp_path, 0, '{"vqscore": NaN}\n', "", None, 0.1)
    (tmp_path / "out.csv").write_text("changed")
    case = {"argv": ["export", "p", "-o", str(tmp_path / "out.csv")], "plant": "out.csv"}
    assert "existing file changed on failure" in fuzz.judge(case, tmp_path, 2, "", "emotrack: error: x\n", "0" * 64, 0.1)


def test_several_files_one_error_line_each_and_the_good_ones_still_scored(tmp_path, capfd, monkeypatch):
    """Regression (fuzz_cli multi-file): quality stopped at the first bad file; now it
    reports it like classify does (an error line and record) and scores the rest."""
    from types import SimpleNamespace

    from emotrack.ml.quality import vqscore

    class Estimator:
        model = SimpleNamespace(config=SimpleNamespace(flag_threshold=0.3))

        def score(self, samples):
            return SimpleNamespace(estimated_pesq=None, estimated_stoi=None, vqscore=0.8, frame_scores=np.full(10, 0.9), frame_times=np.arange(10) * 0.016)

    monkeypatch.setattr(vqscore.QualityEstimator, "from_pretrained", classmethod(lambda cls, *a, **k: Estimator()))
    good = tmp_path / "good.wav"
    sf.write(good, voice(), RATE)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    code, out, lines = run(["quality", bad, good, tmp_path / "missing.wav"], capfd, files=3)
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 2 and len(lines) == 2 and "bad.wav" in lines[0] and "missing.wav" in lines[1]
    assert [("error" in r, "vqscore" in r) for r in records] == [(True, False), (False, True), (True, False)]
