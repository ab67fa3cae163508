"""The ``emotrack`` command line, run in-process through ``main()`` (plus one real
subprocess for the installed entry point): analyze → project, export → curves,
classify → JSON lines, and one-line errors with exit code 2."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.cli.main import build_parser, main
from emotrack.core.emotions import EMOTIONS
from emotrack.core.project_file import load_project

DURATION = 5.3  # not a whole number of seconds or frames: exercises the rounding
RATE = 16_000


def speech_shaped(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """Harmonic bursts at a syllable rate: enough signal for VAD and the model."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.7 * t)) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 0.5
    return (0.25 * voiced * envelope + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("cli_audio")
    sf.write(directory / "line01.wav", speech_shaped(DURATION, RATE), RATE)
    stereo = np.stack([speech_shaped(2.0, 44_100, 1), 0.5 * speech_shaped(2.0, 44_100, 2)], axis=1)
    sf.write(directory / "take02.flac", stereo, 44_100)
    return directory


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("emotrack: error: ")
    for word in words:
        assert word.lower() in lines[0].lower(), (word, lines[0])


# --- analyze -------------------------------------------------------------------------

ANALYZE_HEURISTICS = ("--prior", "joy", "--prior-strength", "0.9", "--strength", "anger=0.5", "--smoothing", "3")


@pytest.fixture(scope="module")
def analyzed(clip_dir, tiny_emotion_model_dir, tmp_path_factory) -> tuple[Path, str]:
    """One `emotrack analyze` run shared by the analyze and export tests."""
    project = tmp_path_factory.mktemp("cli_project") / "line01.emotrack"
    err = io.StringIO()  # capsys is function-scoped: capture stderr by hand here
    with contextlib.redirect_stderr(err):
        code = main(["analyze", str(clip_dir / "line01.wav"), "-o", str(project), "--fps", "24",
                     "--model", str(tiny_emotion_model_dir), "--device", "cpu", *ANALYZE_HEURISTICS])
    assert code == 0, err.getvalue()
    return project, err.getvalue()


def test_analyze_writes_a_valid_project(analyzed, clip_dir, tiny_emotion_model_dir):
    path, err = analyzed
    assert path.exists()
    assert f"wrote {path}" in err and "keyframes" in err
    assert "Traceback" not in err

    project = load_project(path)  # validates against the schema
    assert project.labels[: len(EMOTIONS)] == EMOTIONS
    assert project.fps == 24
    assert project.duration == pytest.approx(DURATION, abs=1e-3)
    assert Path(project.audio.path) == (clip_dir / "line01.wav").resolve()
    assert (project.audio.original_rate, project.audio.channels) == (RATE, 1)
    assert project.model == str(tiny_emotion_model_dir)
    assert project.windows is not None and len(project.windows.starts) > 0

    # About one keyframe per second (default interval 1 s), inside the clip.
    times = np.array([k.time for k in project.keyframes])
    assert len(times) == math.ceil(DURATION)
    full = int(DURATION)  # whole 1 s intervals: keyframe in the middle of each
    np.testing.assert_allclose(times[:full], np.arange(full) + 0.5, atol=1e-6)
    assert full < times[-1] <= DURATION  # ... and one for the partial last interval
    for key in project.keyframes:
        values = np.array(key.values)
        assert np.all(values >= 0)
        assert values.sum() == pytest.approx(1.0, abs=1e-4)


def test_analyze_heuristic_options_are_saved_and_applied(analyzed):
    path, _ = analyzed
    saved = json.loads(path.read_text())["heuristics"]
    assert saved["prior_enabled"] is True
    assert saved["prior_emotion"] == "joy"
    assert saved["prior_strength"] == pytest.approx(0.9)
    assert saved["smoothing_enabled"] is True and saved["smoothing"] == 3
    assert saved["strengths"]["anger"] == pytest.approx(0.5)
    assert saved["strengths"]["joy"] == pytest.approx(1.0)

    project = load_project(path)
    assert project.heuristics.prior_enabled and project.heuristics.prior_emotion == "joy"
    joy = EMOTIONS.index("joy")
    unlocked = [k for k in project.keyframes if not k.locked]
    assert unlocked
    for key in unlocked:
        # An untrained model is near-uniform; a 0.9 joy prior must dominate every key.
        assert int(np.argmax(key.values)) == joy
        assert key.values[joy] > 0.5


def test_analyze_stereo_channel_default_output_quiet(clip_dir, tiny_emotion_model_dir, capsys):
    audio = clip_dir / "take02.flac"
    code, out, err = run_cli(capsys, "analyze", audio, "--channel", "1", "-q",
                             "--model", tiny_emotion_model_dir, "--device", "cpu")
    assert code == 0, err
    assert err == "" and out == ""  # --quiet: nothing on stderr
    default_output = audio.with_suffix(".emotrack")
    project = load_project(default_output)
    assert (project.audio.original_rate, project.audio.channels) == (44_100, 2)
    assert project.duration == pytest.approx(2.0, abs=1e-3)
    assert project.fps == 30  # the default
    assert len(project.keyframes) == 2


def test_analyze_missing_channel_is_a_one_line_error(clip_dir, tiny_emotion_model_dir, capsys, tmp_path):
    code, _, err = run_cli(capsys, "analyze", clip_dir / "line01.wav", "--channel", "3", "-q",
                           "-o", tmp_path / "x.emotrack", "--model", tiny_emotion_model_dir, "--device", "cpu")
    assert_one_line_error(code, err, "channel 3")
    assert not (tmp_path / "x.emotrack").exists()


def test_analyze_unreadable_audio_is_a_one_line_error(tiny_emotion_model_dir, capsys, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio\n" * 50)
    code, _, err = run_cli(capsys, "analyze", bad, "-q", "--model", tiny_emotion_model_dir, "--device", "cpu")
    assert_one_line_error(code, err, "notes.wav", "not an audio file")
    assert not bad.with_suffix(".emotrack").exists()


# --- export --------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [24, 30, 60])
def test_export_csv(analyzed, capsys, tmp_path, fps):
    project_path, _ = analyzed
    out = tmp_path / f"curves_{fps}.csv"
    code, _, err = run_cli(capsys, "export", project_path, "--format", "csv", "--fps", fps, "-o", out)
    assert code == 0, err
    assert f"wrote {out}" in err

    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["frame", "time", *EMOTIONS]
    body = rows[1:]
    assert len(body) == math.floor(DURATION * fps) + 1
    frames = [int(r[0]) for r in body]
    assert frames == list(range(len(body)))
    times = np.array([float(r[1]) for r in body])
    np.testing.assert_allclose(times, np.arange(len(body)) / fps, atol=1e-6)
    values = np.array([[float(v) for v in r[2:]] for r in body])
    assert values.shape == (len(body), len(EMOTIONS))
    assert np.all(values >= 0) and np.all(values <= 1)
    np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-3)
    assert np.all(np.argmax(values, axis=1) == EMOTIONS.index("joy"))


@pytest.mark.parametrize("fps", [24, 30, 60])
def test_export_json_curves(analyzed, capsys, tmp_path, fps):
    project_path, _ = analyzed
    out = tmp_path / "curves.json"
    code, _, err = run_cli(capsys, "export", project_path, "--format", "json", "--fps", fps, "-o", out)
    assert code == 0, err
    doc = json.loads(out.read_text())
    n_frames = math.floor(DURATION * fps) + 1
    assert doc["format"] == "emotrack-curves"
    assert doc["fps"] == fps
    assert doc["frame_count"] == n_frames
    assert doc["labels"][: len(EMOTIONS)] == list(EMOTIONS)
    assert doc["audio"] == "line01.wav"
    assert doc["duration"] == pytest.approx((n_frames - 1) / fps)
    assert set(doc["curves"]) == set(doc["labels"])
    for name in EMOTIONS:
        assert len(doc["curves"][name]) == n_frames
    total = np.sum([doc["curves"][name] for name in EMOTIONS], axis=0)
    np.testing.assert_allclose(total, 1.0, atol=1e-3)


@pytest.mark.parametrize("fps", [24, 30, 60])
def test_export_keyframes(analyzed, capsys, tmp_path, fps):
    project_path, _ = analyzed
    out = tmp_path / "keys.json"
    code, _, err = run_cli(capsys, "export", project_path, "--format", "keyframes", "--fps", fps, "-o", out)
    assert code == 0, err
    doc = json.loads(out.read_text())
    project = load_project(project_path)
    assert doc["format"] == "emotrack-keyframes"
    assert doc["fps"] == fps
    assert len(doc["keyframes"]) == len(project.keyframes)
    for exported, key in zip(doc["keyframes"], project.keyframes):
        assert exported["time"] == pytest.approx(key.time, abs=1e-6)
        assert exported["frame"] == round(key.time * fps)
        assert list(exported["values"]) == list(project.labels)
        assert sum(exported["values"].values()) == pytest.approx(1.0, abs=1e-4)


def test_export_defaults_to_the_project_fps_and_a_path_beside_it(analyzed, capsys, tmp_path):
    project_path, _ = analyzed
    copy = tmp_path / "copy.emotrack"
    copy.write_text(project_path.read_text())
    code, _, err = run_cli(capsys, "export", copy)  # csv at the project's 24 fps
    assert code == 0, err
    out = tmp_path / "copy.csv"
    assert out.exists()
    assert len(out.read_text().splitlines()) == 1 + math.floor(DURATION * 24) + 1


# --- classify ------------------------------------------------------------------------


def parse_json_lines(out: str) -> list[dict]:
    lines = out.splitlines()
    records = [json.loads(line) for line in lines]  # each line is one whole JSON object
    assert all(isinstance(r, dict) for r in records)
    return records


def assert_classification(record: dict, path: Path) -> None:
    assert set(record) == {"path", "probabilities", "label"}
    assert record["path"] == str(path)
    probabilities = record["probabilities"]
    assert list(probabilities) == list(EMOTIONS)  # the tiny model has exactly the six
    assert all(0 <= p <= 1 for p in probabilities.values())
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert record["label"] in EMOTIONS
    assert probabilities[record["label"]] == max(probabilities.values())


def test_classify_prints_one_json_object_per_file(clip_dir, tiny_emotion_model_dir, capsys):
    files = [clip_dir / "line01.wav", clip_dir / "take02.flac"]
    code, out, err = run_cli(capsys, "classify", *files, "--model", tiny_emotion_model_dir, "--device", "cpu")
    assert code == 0, err
    records = parse_json_lines(out)
    assert len(records) == 2
    for record, path in zip(records, files):
        assert_classification(record, path)


def test_classify_bad_file_in_a_batch(clip_dir, tiny_emotion_model_dir, capsys, tmp_path):
    text = tmp_path / "readme.wav"
    text.write_text("hello\n" * 100)
    files = [clip_dir / "line01.wav", tmp_path / "missing.wav", text, clip_dir / "take02.flac"]
    code, out, err = run_cli(capsys, "classify", *files, "--model", tiny_emotion_model_dir, "--device", "cpu")
    assert code == 2
    records = parse_json_lines(out)
    assert [r["path"] for r in records] == [str(f) for f in files]
    assert_classification(records[0], files[0])
    assert_classification(records[3], files[3])
    assert set(records[1]) == {"path", "error"} and "no such file" in records[1]["error"]
    assert set(records[2]) == {"path", "error"} and "not an audio file" in records[2]["error"]
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if line.startswith("emotrack: error: ")]
    assert len(error_lines) == 2


def test_classify_missing_channel_is_a_per_file_error(clip_dir, tiny_emotion_model_dir, capsys):
    code, out, err = run_cli(capsys, "classify", clip_dir / "take02.flac", "--channel", "5",
                             "--model", tiny_emotion_model_dir, "--device", "cpu")
    assert code == 2
    (record,) = parse_json_lines(out)
    assert "channel 5" in record["error"]


# --- bad parameters: one line, exit 2, no traceback ----------------------------------


BAD_PARAMETERS = [
    (["analyze", "{audio}", "--hop", "100"], ["hop"]),
    (["analyze", "{audio}", "--window", "100"], ["window"]),
    (["analyze", "{audio}", "--interval", "0"], ["keyframe_interval"]),
    (["analyze", "{audio}", "--smoothing", "50"], ["smoothing"]),
    (["analyze", "{audio}", "--strength", "anger=2"], ["anger strength"]),
    (["analyze", "{audio}", "--strength", "foo=1"], ["--strength", "foo=1"]),
    (["analyze", "{audio}", "--strength", "anger"], ["--strength"]),
    (["analyze", "{audio}", "--strength", "anger=lots"], ["not a number"]),
    (["analyze", "{audio}", "--prior", "joy", "--prior-strength", "1.5"], ["prior strength"]),
    (["analyze", "{audio}", "--prior-strength", "0.5"], ["--prior-strength needs --prior"]),
    (["analyze", "{audio}", "--prior", "boredom"], ["--prior", "boredom"]),
    (["analyze", "{audio}", "--fps", "23"], ["--fps", "23"]),
    (["analyze", "{audio}", "--hop", "lots"], ["--hop", "lots"]),
    (["analyze"], ["AUDIO"]),
    (["analyze", "{audio}", "--no-such-option"], ["--no-such-option"]),
    (["classify", "{audio}", "--hop", "100"], ["hop"]),
    (["classify"], ["AUDIO"]),
    (["export", "{audio}", "--fps", "23"], ["--fps", "23"]),
    (["export", "{audio}", "--format", "xml"], ["--format", "xml"]),
    (["train", "nonsense"], ["MODEL", "nonsense"]),
]


@pytest.mark.parametrize(("argv", "words"), BAD_PARAMETERS,
                         ids=[" ".join(argv).replace("{audio}", "AUDIO") for argv, _ in BAD_PARAMETERS])
def test_bad_parameters_are_one_line_errors(clip_dir, capsys, argv, words):
    argv = [a.format(audio=clip_dir / "line01.wav") for a in argv]
    code, out, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, *words)
    assert out == ""


# --- project files -------------------------------------------------------------------


def test_export_truncated_project(analyzed, capsys, tmp_path):
    project_path, _ = analyzed
    text = project_path.read_text()
    cut = tmp_path / "cut.emotrack"
    cut.write_text(text[: len(text) // 2])
    code, _, err = run_cli(capsys, "export", cut, "-o", tmp_path / "out.csv")
    assert_one_line_error(code, err, "cut.emotrack", "JSON", "truncated")
    assert not (tmp_path / "out.csv").exists()


def test_export_project_from_a_newer_version(analyzed, capsys, tmp_path):
    project_path, _ = analyzed
    data = json.loads(project_path.read_text())
    data["schema_version"] = 99
    future = tmp_path / "future.emotrack"
    future.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "export", future)
    assert_one_line_error(code, err, "newer", "99")


def test_export_invalid_and_missing_projects(analyzed, capsys, tmp_path):
    project_path, _ = analyzed
    data = json.loads(project_path.read_text())
    data["keyframes"][1]["time"] = "abc"
    broken = tmp_path / "broken.emotrack"
    broken.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "export", broken)
    assert_one_line_error(code, err, "keyframes/1/time")

    code, _, err = run_cli(capsys, "export", tmp_path / "nowhere.emotrack")
    assert_one_line_error(code, err, "no such project file")

    audio_as_project = tmp_path / "audio.emotrack"
    sf.write(audio_as_project, np.zeros(100, np.float32), RATE, format="WAV")
    code, _, err = run_cli(capsys, "export", audio_as_project)
    assert_one_line_error(code, err, "audio.emotrack")


# --- help ----------------------------------------------------------------------------


def command_names() -> list[str]:
    subparsers = build_parser()._subparsers._group_actions[0]  # noqa: SLF001
    return sorted(subparsers.choices)


def test_every_expected_command_is_registered():
    assert {"analyze", "export", "classify", "train"} <= set(command_names())


@pytest.mark.parametrize("argv", [["--help"], ["-h"], *([name, "--help"] for name in command_names())])
def test_help_exits_zero(capsys, argv):
    try:
        code = main(argv)  # argparse exits; 'train --help' returns
    except SystemExit as exited:
        code = exited.code
    assert code in (0, None)
    out, err = capsys.readouterr()
    command = {"analyse": "analyze"}.get(argv[0], argv[0])  # an alias shows its command's usage
    assert out.startswith(f"usage: emotrack{' ' + command if not command.startswith('-') else ''}")
    assert err == ""


def test_version(capsys):
    from emotrack import __version__

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code in (0, None)
    assert capsys.readouterr().out.strip() == f"emotrack {__version__}"


# --- the installed entry point -------------------------------------------------------


def test_installed_entry_point(analyzed, tmp_path):
    executable = Path(sys.executable).with_name("emotrack")
    assert executable.exists(), "the package's console script is not installed"
    project_path, _ = analyzed
    out = tmp_path / "curves.json"
    ok = subprocess.run([executable, "export", project_path, "--format", "json", "--fps", "60", "-o", out],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(out.read_text())["frame_count"] == math.floor(DURATION * 60) + 1

    bad = subprocess.run([executable, "export", project_path, "--fps", "23"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert_one_line_error(bad.returncode, bad.stderr, "--fps")
    assert bad.stdout == ""


def test_extra_model_labels_become_extra_curves(tmp_path, tone_wav):
    """A checkpoint with a label outside the six keeps it as a seventh curve."""
    from transformers import Wav2Vec2Config, Wav2Vec2ForSequenceClassification

    from emotrack.io.audio import load_audio
    from emotrack.pipeline import new_project

    id2label = {0: "neu", 1: "surprised", 2: "ang", 3: "hap", 4: "sad"}
    config = Wav2Vec2Config(
        conv_dim=(16, 16), conv_kernel=(10, 3), conv_stride=(5, 4), hidden_size=32,
        num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4, classifier_proj_size=16, num_labels=5,
        id2label=id2label, label2id={v: k for k, v in id2label.items()},
    )
    model_dir = tmp_path / "five_labels"
    Wav2Vec2ForSequenceClassification(config).save_pretrained(model_dir)
    expected = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprised")
    assert new_project(load_audio(tone_wav), model_dir=model_dir).labels == expected
    out = tmp_path / "p.emotrack"
    assert main(["analyze", str(tone_wav), "-o", str(out), "--model", str(model_dir), "-q"]) == 0
    project = load_project(out)
    assert project.labels == expected
    values = np.array([k.values for k in project.keyframes])
    assert np.allclose(values.sum(axis=1), 1.0)
    assert np.all(values[:, 1] == 0) and np.all(values[:, 2] == 0)  # disgust, fear: not in the model
    assert np.all(values[:, 6] > 0)  # the extra label carries probability


# --- hardening: unknown commands, no display, the top-level guard, outputs, tiny clips ---


@pytest.mark.parametrize(("word", "words"), [
    ("analyz", ["unknown command 'analyz'", "did you mean 'analyze'"]),
    ("expor", ["unknown command 'expor'", "did you mean 'export'"]),
    ("frobnicate", ["unknown command 'frobnicate'", "classify"]),
    ("missing_take.wav", ["no such file: missing_take.wav"]),
])
def test_unknown_command_is_a_one_line_error_not_the_app(capsys, monkeypatch, word, words):
    import emotrack.cli.main as cli_main

    monkeypatch.setattr(cli_main, "_open_app", lambda argv: pytest.fail("the app must not open"))
    code, out, err = run_cli(capsys, word, "take.wav", "-o", "take.emotrack")
    assert_one_line_error(code, err, *words)
    assert out == ""


def test_analyse_is_an_alias_of_analyze(clip_dir, capsys, tmp_path):
    # The output check runs before the model loads, so this shows the alias dispatches.
    code, _, err = run_cli(capsys, "analyse", clip_dir / "line01.wav", "-o", tmp_path)
    assert_one_line_error(code, err, "is a folder")


def test_app_without_a_display_says_so_in_one_line(clip_dir, capsys, monkeypatch):
    import emotrack.cli.main as cli_main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli_main.sys, "platform", "linux")
    code, _, err = run_cli(capsys, clip_dir / "line01.wav")
    assert_one_line_error(code, err, "cannot start", "no display", "headless commands")


@pytest.mark.parametrize(("environ", "ok"), [
    ({}, False),
    ({"DISPLAY": ":0"}, True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, True),
    ({"QT_QPA_PLATFORM": "offscreen"}, True),
    ({"QT_QPA_PLATFORM": "minimal"}, True),
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, False),
    ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, False),
    ({"QT_QPA_PLATFORM": "wayland-egl", "WAYLAND_DISPLAY": "wayland-0"}, True),
])
def test_display_problem(environ, ok):
    from emotrack.cli.main import display_problem

    assert (display_problem(environ, "linux") is None) == ok
    assert display_problem({}, "win32") is None and display_problem({}, "darwin") is None


@pytest.fixture
def crashing_export(monkeypatch, tmp_path):
    """`export` replaced by a bug; crash logs go to tmp_path/logs."""
    import emotrack.cli.export as export_cli

    def bug(args, rest):
        raise RuntimeError("boom\nsecond line that must not show")

    monkeypatch.setattr(export_cli, "run", bug)
    monkeypatch.setenv("EMOTRACK_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("EMOTRACK_DEBUG", raising=False)
    return tmp_path / "logs"


def test_unexpected_exception_is_one_line_and_a_log(crashing_export, capsys):
    code, out, err = run_cli(capsys, "export", "x.emotrack")
    assert code == 3 and out == "" and "Traceback" not in err
    line, = err.strip().splitlines()
    assert line.startswith("emotrack: error: internal error (RuntimeError: boom); details in ")
    log = Path(line.rsplit("details in ", 1)[1])
    assert log.parent == crashing_export
    assert "Traceback" in log.read_text() and "second line" in log.read_text()


@pytest.mark.parametrize("argv", [["--debug", "export", "x.emotrack"], ["export", "x.emotrack", "--debug"]])
def test_debug_shows_the_traceback_instead(crashing_export, capsys, argv):
    code, _, err = run_cli(capsys, *argv)
    assert code == 3
    assert "Traceback" in err and "RuntimeError: boom" in err
    assert not crashing_export.exists()


def test_interrupt_is_one_line_and_130(monkeypatch, capsys):
    import emotrack.cli.export as export_cli

    def interrupted(args, rest):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_cli, "run", interrupted)
    code, _, err = run_cli(capsys, "export", "x.emotrack")
    assert code == 130 and err == "emotrack: interrupted\n"


def test_crash_log_falls_back_when_its_folder_is_unusable(crashing_export, capsys, monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("EMOTRACK_LOG_DIR", str(tmp_path / "file" / "logs"))  # under a file
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code, _, err = run_cli(capsys, "export", "x.emotrack")
    assert code == 3 and f"details in {tmp_path / 'tmp' / 'emotrack-logs'}" in err


@pytest.mark.parametrize(("make", "words"), [
    (lambda tmp: "", ["output path is empty"]),
    (lambda tmp: tmp, ["is a folder"]),
    (lambda tmp: tmp / "file.txt" / "out.csv", ["file.txt is a file, not a folder"]),
])
def test_export_refuses_unusable_outputs_in_one_line(analyzed, capsys, tmp_path, make, words):
    (tmp_path / "file.txt").write_text("keep")
    code, _, err = run_cli(capsys, "export", analyzed[0], "-o", make(tmp_path))
    assert_one_line_error(code, err, *words)
    assert (tmp_path / "file.txt").read_text() == "keep"


def test_export_keeps_the_mode_and_writes_through_a_symlink(analyzed, capsys, tmp_path):
    import stat

    real = tmp_path / "real.csv"
    real.write_text("old")
    real.chmod(0o644)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    code, _, err = run_cli(capsys, "export", analyzed[0], "-o", link)
    assert code == 0, err
    assert link.is_symlink() and real.read_text().startswith("frame,time")
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]


def test_analyze_refuses_a_folder_output_before_loading_the_model(clip_dir, capsys, tmp_path):
    code, _, err = run_cli(capsys, "analyze", clip_dir / "line01.wav", "-o", tmp_path,
                           "--model", tmp_path / "no_such_model")
    assert_one_line_error(code, err, "is a folder")


@pytest.mark.parametrize("via_link", [False, True])
def test_enhance_never_writes_over_its_input(clip_dir, capsys, tmp_path, via_link):
    source = tmp_path / "take.wav"
    source.write_bytes((clip_dir / "line01.wav").read_bytes())
    before = source.read_bytes()
    output = source
    if via_link:
        output = tmp_path / "cleaned.wav"
        output.symlink_to(source)
    code, _, err = run_cli(capsys, "enhance", source, "-o", output, "--model", tmp_path / "none")
    assert_one_line_error(code, err, "is the input file", "original is kept")
    assert source.read_bytes() == before


def test_classify_refuses_a_tiny_clip_per_file(clip_dir, tiny_emotion_model_dir, capsys, tmp_path):
    tiny = tmp_path / "blip.wav"
    sf.write(tiny, np.full(40, 0.3, np.float32), RATE)  # 2.5 ms
    code, out, err = run_cli(capsys, "classify", tiny, clip_dir / "line01.wav",
                             "--model", tiny_emotion_model_dir, "--device", "cpu")
    assert code == 2
    first, second = parse_json_lines(out)
    assert "too short" in first["error"] and "blip.wav" in first["error"] and "100 ms" in first["error"]
    assert "label" in second
    assert_one_line_error(code, err, "too short", "100 ms")
