"""``emotrack batch`` on local workers (in-process and spawned processes): the same
projects and exports as ``analyze``/``export``, incremental reruns, resuming after an
interruption or a kill, bad files, manifests, quality and the summary."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.cli.main import main
from emotrack.core.project_file import load_project
from signals import speech_like

RATE = 16_000
LINES = {"bob/l1.wav": 2.5, "bob/l2.wav": 1.5, "ann/l1.wav": 2.0}
NAMES = {"bob/l1.wav": "bob_l1", "bob/l2.wav": "l2", "ann/l1.wav": "ann_l1"}


def make_lines(folder: Path) -> Path:
    for i, (rel, seconds) in enumerate(LINES.items()):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(folder / rel, speech_like(seconds, seed=i), RATE)
    return folder


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def batch_args(model_dir, *extra) -> list:
    return ["--model", model_dir, "--device", "cpu", *extra]


def counts(err: str) -> str:
    """'3 analysed, 0 unchanged, 0 failed' from the closing line."""
    line = next(line for line in err.splitlines() if line.startswith("batch: ") and " lines: " in line)
    return line.split(" lines: ")[1].split(";")[0]


def assert_same_as_analyze(project: Path, audio: Path, model_dir: Path, tmp_path: Path, *settings) -> Path:
    """The batch's project has the keyframes and windows that ``analyze`` writes."""
    reference = tmp_path / f"reference-{project.stem}.emotrack"
    assert main(["analyze", str(audio), "-o", str(reference), "-q", "--model", str(model_dir),
                 "--device", "cpu", *settings]) == 0
    ours, theirs = load_project(project), load_project(reference)
    assert [k.time for k in ours.keyframes] == [k.time for k in theirs.keyframes]
    np.testing.assert_allclose([k.values for k in ours.keyframes], [k.values for k in theirs.keyframes],
                               atol=2e-6)
    np.testing.assert_allclose(ours.windows.probabilities, theirs.windows.probabilities, atol=2e-6)
    assert (ours.analysis, ours.heuristics, ours.model, ours.fps) == (
        theirs.analysis, theirs.heuristics, theirs.model, theirs.fps)
    assert Path(ours.audio.path).resolve() == audio.resolve()
    return reference


def read_summary(folder: Path) -> dict[str, dict]:
    return {row["name"]: row for row in csv.DictReader((folder / "summary.csv").open())}


# --- two worker processes, one bad file ------------------------------------------------


@pytest.fixture(scope="module")
def process_run(tmp_path_factory, tiny_emotion_model_dir):
    """One batch in two spawned worker processes, with a corrupt file among the lines."""
    inputs = make_lines(tmp_path_factory.mktemp("batch_in"))
    (inputs / "ann" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    out = tmp_path_factory.mktemp("batch_out")
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["batch", str(inputs), "-o", str(out), "--export", "csv,keyframes", "--workers", "2",
                     *map(str, batch_args(tiny_emotion_model_dir))])
    return inputs, out, code, err.getvalue()


def test_worker_processes_write_what_analyze_and_export_write(process_run, tiny_emotion_model_dir, tmp_path, capsys):
    inputs, out, _, _ = process_run
    for rel, name in NAMES.items():
        reference = assert_same_as_analyze(out / f"{name}.emotrack", inputs / rel, tiny_emotion_model_dir, tmp_path)
        exported = tmp_path / f"{name}.csv"
        assert main(["export", str(reference), "--format", "csv", "-o", str(exported)]) == 0
        assert (out / f"{name}.csv").read_text() == exported.read_text()
        assert json.loads((out / f"{name}.keyframes.json").read_text())["keyframes"]
    workers = {json.loads(line)["worker"] for line in (out / "summary.jsonl").read_text().splitlines()
               if "worker" in line}
    # Worker processes did the work, at most two of them; which one takes which line is
    # up to the scheduler (one that starts first may take them all).
    assert 1 <= len(workers) <= 2 and os.getpid() not in workers


def test_a_bad_file_is_reported_and_the_rest_done(process_run):
    _, out, code, err = process_run
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("emotrack: error: 1 of 4 lines failed")
    assert "Traceback" not in err
    rows = read_summary(out)
    assert rows["broken"]["status"] == "failed" and "broken.wav" in rows["broken"]["error"]
    assert all(rows[name]["status"] == "ok" for name in NAMES.values())
    assert rows["bob_l1"]["character"] == "bob" and float(rows["bob_l1"]["duration_s"]) == 2.5
    report = (out / "report.html").read_text()
    assert "Failed lines" in report and "broken" in report and "<h3>bob: 2 lines" in report
    assert not list(out.glob(".*.tmp")) and not (out / "broken.emotrack").exists()


# --- incremental reruns ---------------------------------------------------------------


def test_rerun_skips_unchanged_lines_and_redoes_changed_ones(tmp_path, tiny_emotion_model_dir, capsys):
    inputs, out = make_lines(tmp_path / "in"), tmp_path / "out"
    args = ["batch", inputs, "-o", out, "--workers", "1", *batch_args(tiny_emotion_model_dir)]
    code, err = run_cli(capsys, *args)
    assert code == 0 and counts(err) == "3 analysed, 0 unchanged, 0 failed"
    stamp = (out / "l2.emotrack").stat().st_mtime_ns
    code, err = run_cli(capsys, *args)
    assert code == 0 and counts(err) == "0 analysed, 3 unchanged, 0 failed"
    assert (out / "l2.emotrack").stat().st_mtime_ns == stamp
    assert read_summary(out)["l2"]["this_run"] == "skipped"

    sf.write(inputs / "bob/l2.wav", speech_like(1.5, seed=9), RATE)  # a new take of one line
    (out / "ann_l1.csv").unlink()  # and an export lost
    assert counts(run_cli(capsys, *args)[1]) == "2 analysed, 1 unchanged, 0 failed"
    assert counts(run_cli(capsys, *args, "--smoothing", "3")[1]) == "3 analysed, 0 unchanged, 0 failed"
    assert load_project(out / "l2.emotrack").heuristics.smoothing_enabled
    assert counts(run_cli(capsys, *args, "--smoothing", "3", "--export", "csv,json")[1]).startswith("3 analysed")
    assert counts(run_cli(capsys, *args, "--smoothing", "3", "--export", "csv,json", "--force")[1]).startswith(
        "3 analysed")


def test_an_interrupted_batch_resumes_where_it_stopped(tmp_path, tiny_emotion_model_dir, capsys, monkeypatch):
    from emotrack.batch.work import LineWorker

    inputs, out = make_lines(tmp_path / "in"), tmp_path / "out"
    args = ["batch", inputs, "-o", out, "--workers", "1", "--export", "csv", *batch_args(tiny_emotion_model_dir)]
    real_run, calls = LineWorker.run, []

    def interrupted_on_the_third_line(self, job):
        calls.append(job.name)
        if len(calls) == 3:
            # The summary is kept up to date while the batch runs (here: after every line).
            assert [r["status"] for r in read_summary(out).values()].count("ok") == 2
            raise KeyboardInterrupt
        return real_run(self, job)

    monkeypatch.setattr(LineWorker, "run", interrupted_on_the_third_line)
    monkeypatch.setattr("emotrack.batch.runner.SUMMARY_EVERY_SECONDS", -1.0)
    code, err = run_cli(capsys, *args)
    assert code == 130
    rows = read_summary(out)  # written on the way out
    assert [rows[n]["status"] for n in calls] == ["ok", "ok", "not run"]
    monkeypatch.setattr(LineWorker, "run", real_run)

    stale = out / f".{calls[2]}.emotrack.k1ll3d.tmp"  # what a kill mid-write leaves
    stale.write_text('{"format": "emotr')
    code, err = run_cli(capsys, *args)
    assert code == 0 and counts(err) == "1 analysed, 2 unchanged, 0 failed"
    assert not stale.exists() and not list(out.glob(".*.tmp"))
    assert all(row["status"] == "ok" for row in read_summary(out).values())


def test_a_killed_batch_leaves_only_whole_files_and_reruns_the_rest(tmp_path, tiny_emotion_model_dir, capsys):
    """A real SIGKILL of a batch process part-way; the rerun completes it."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(12):
        sf.write(inputs / f"line{i:02d}.wav", speech_like(3.0, seed=i), RATE)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "emotrack", "batch", str(inputs), "-o", str(out), "--workers", "1",
               "--export", "csv,json", "--model", str(tiny_emotion_model_dir), "--device", "cpu"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2] / "app"),
                                                         os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    ledger = out / "batch-ledger.jsonl"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        if ledger.exists() and len(ledger.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {json.loads(line)["name"] for line in ledger.read_text().splitlines() if line.endswith("}")}
    assert finished, "the batch finished no line before the kill"
    for project in out.glob("*.emotrack"):
        load_project(project)  # whole, valid projects only
    code, err = run_cli(capsys, "batch", inputs, "-o", out, "--workers", "1", "--export", "csv,json",
                        *batch_args(tiny_emotion_model_dir))
    assert code == 0 and counts(err) == f"{12 - len(finished)} analysed, {len(finished)} unchanged, 0 failed"
    assert not list(out.glob(".*.tmp"))
    assert len(list(out.glob("*.emotrack"))) == len(list(out.glob("*.csv"))) - 1 == 12  # + summary.csv


# --- manifests, quality, progress, options -------------------------------------------


def test_manifest_sets_names_characters_and_a_prior_per_line(tmp_path, tiny_emotion_model_dir, capsys):
    inputs = make_lines(tmp_path / "in")
    manifest = tmp_path / "dialogue.csv"
    manifest.write_text("path,prior,prior_strength,character,name\n"
                        "in/bob/l1.wav,joy,0.9,Bob,bob_greets\n"
                        "in/ann/l1.wav,,,Ann,ann_answers\n")
    out = tmp_path / "out"
    code, _ = run_cli(capsys, "batch", manifest, "-o", out, "--export", "", "--workers", "1",
                      *batch_args(tiny_emotion_model_dir))
    assert code == 0
    assert sorted(p.name for p in out.glob("*.emotrack")) == ["ann_answers.emotrack", "bob_greets.emotrack"]
    assert_same_as_analyze(out / "bob_greets.emotrack", inputs / "bob/l1.wav", tiny_emotion_model_dir, tmp_path,
                           "--prior", "joy", "--prior-strength", "0.9")
    assert not load_project(out / "ann_answers.emotrack").heuristics.prior_enabled
    assert read_summary(out)["bob_greets"]["character"] == "Bob"


def test_quality_flags_reach_the_summary_and_report(tmp_path, tiny_emotion_model_dir, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    sf.write(inputs / "noisy.wav", (0.3 * np.random.default_rng(0).standard_normal(2 * RATE)).astype(np.float32),
             RATE)
    out = tmp_path / "out"
    code, _ = run_cli(capsys, "batch", inputs, "-o", out, "--quality", *batch_args(tiny_emotion_model_dir))
    assert code == 0
    record = json.loads((out / "summary.jsonl").read_text())
    project = load_project(out / "noisy.emotrack")
    assert record["vqscore"] == round(project.quality.vqscore, 4)
    assert record["estimated_pesq"] == round(project.quality.estimated_pesq, 3)  # the bundled estimator
    assert record["low_confidence_keys"] == sum(k.low_confidence for k in project.keyframes)
    assert "Speech quality" in (out / "report.html").read_text()


def test_progress_is_plain_lines_off_a_terminal(tmp_path, tiny_emotion_model_dir, capsys):
    inputs, out = make_lines(tmp_path / "in"), tmp_path / "out"
    _, err = run_cli(capsys, "batch", inputs, "-o", out, "--workers", "1", *batch_args(tiny_emotion_model_dir))
    progress = [line for line in err.splitlines() if line.startswith("batch: ") and "/3 " in line]
    assert len(progress) == 3 and progress[-1].startswith("batch: 3/3 ") and "eta" in progress[0]
    assert "\r" not in err
    _, err = run_cli(capsys, "batch", inputs, "-o", out, "-q", *batch_args(tiny_emotion_model_dir))
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("make_args, words", [
    (lambda d: ["--export", "csv,fbx"], ["--export", "fbx"]),
    (lambda d: ["--workers", "0"], ["--workers"]),
    (lambda d: ["--prior-strength", "0.5"], ["--prior"]),
])
def test_bad_options_are_one_line_errors(tmp_path, capsys, make_args, words):
    inputs = make_lines(tmp_path / "in")
    code, err = run_cli(capsys, "batch", inputs, "-o", tmp_path / "out", *make_args(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    for word in words:
        assert word in err


def test_an_output_that_is_a_file_or_a_locked_folder_is_refused(tmp_path, capsys):
    from emotrack.core.batch_ledger import lock_folder

    inputs = make_lines(tmp_path / "in")
    (tmp_path / "file").write_text("x")
    code, err = run_cli(capsys, "batch", inputs, "-o", tmp_path / "file")
    assert code == 2 and "folder" in err
    held = lock_folder(tmp_path / "busy")
    try:
        code, err = run_cli(capsys, "batch", inputs, "-o", tmp_path / "busy", "--model", "fast")
    finally:
        held.close()
    assert code == 2 and "another batch" in err


def test_progress_is_a_bar_with_an_eta_on_a_terminal():
    import io

    from emotrack.batch.progress import BatchProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    progress = BatchProgress(stream=screen)
    progress.begin(3, unchanged=5)
    for name, status in [("a", "ok"), ("b", "failed"), ("c", "ok")]:
        progress.line_finished({"name": name, "status": status, "error": "bad b", "seconds": 0.1})
    progress.close()
    text = screen.getvalue()
    assert "3/3" in text and "\r" in text and "failed=1" in text and "b failed: bad b" in text
    assert text.startswith("batch: 5 lines unchanged since the last run, 3 to run\n")


def test_face_exports_equal_what_export_makes_of_the_project(tmp_path, tiny_emotion_model_dir, tiny_face_loader,
                                                              capsys, monkeypatch):
    import emotrack.pipeline as pipeline

    monkeypatch.setattr(pipeline, "load_face_animator", lambda face_dir=None, device="auto": tiny_face_loader())
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    sf.write(inputs / "line.wav", speech_like(1.5), RATE)
    code, _ = run_cli(capsys, "batch", inputs, "-o", out, "--workers", "1", "--export", "arkit-csv,mouth-cues",
                      *batch_args(tiny_emotion_model_dir))
    assert code == 0
    for kind, suffix in [("arkit-csv", ".arkit.csv"), ("mouth-cues", ".mouth.tsv")]:
        reference = tmp_path / f"reference{suffix}"
        assert main(["export", str(out / "line.emotrack"), "--format", kind, "-o", str(reference)]) == 0
        assert (out / f"line{suffix}").read_text() == reference.read_text()
