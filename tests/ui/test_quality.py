"""Speech quality in the app: the lane, the threshold, the status bar, the batch report."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt
from signals import speech_like

SAMPLE_RATE = 16_000


@pytest.fixture(scope="session")
def tiny_quality_model_dir(tmp_path_factory):
    """A random-init VQScore model saved like the bundled one (real loading and scoring)."""
    import torch

    from emotrack.ml.quality.vqscore import VQScoreConfig, VQScoreModel

    torch.manual_seed(0)
    config = VQScoreConfig(hidden_channels=(16, 16, 8, 8), codebook_size=16, codebook_dim=8,
                           kmeans_iterations=3, flag_threshold=0.3)
    directory = tmp_path_factory.mktemp("quality-model")
    VQScoreModel(config).save_pretrained(directory)
    return directory


def wait_all(qtbot, window, timeout: int = 30_000) -> None:
    qtbot.waitUntil(lambda: window.loader is None and window.worker is None
                    and window.quality.worker is None, timeout=timeout)


@pytest.fixture
def scored(make_window, tiny_quality_model_dir, tone_wav, qtbot):
    window = make_window(quality_model_dir=tiny_quality_model_dir)
    assert window.open_path(tone_wav)
    wait_all(qtbot, window)
    assert window.project.quality is not None, window.last_error
    assert window.project.keyframes, window.last_error
    return window


def assert_regions(lane, regions) -> None:
    drawn = np.asarray(lane.drawn_regions(), dtype=float).reshape(-1, 2)
    np.testing.assert_allclose(drawn, np.asarray(regions, dtype=float).reshape(-1, 2))


def drag_threshold(lane, values) -> None:
    """What a mouse drag of the threshold line does: moves, then one finish."""
    line = lane.threshold_line
    for value in values:
        line.setValue(value)
        line.sigDragged.emit(line)
    line.sigPositionChangeFinished.emit(line)


def test_scoring_draws_the_lane_and_status(scored):
    window, lane = scored, scored.quality.lane
    quality = window.project.quality
    assert quality.threshold == pytest.approx(0.3)  # the model's calibrated default
    x, y = lane.score_item.getData()
    np.testing.assert_allclose(x, quality.frame_times)
    np.testing.assert_allclose(y, quality.frame_scores)
    assert_regions(lane, quality.regions)
    assert lane.threshold_line.value() == pytest.approx(quality.threshold)
    assert lane.plot.isVisible()
    assert f"VQScore {quality.vqscore:.3f}" in window.quality.label.text()
    assert "flagged" in window.quality.label.text()
    assert window.quality.threshold_box.isVisible() and window.quality.threshold_box.value() == pytest.approx(0.3)
    assert "Score speech quality" in [window.undo_stack.text(i) for i in range(window.undo_stack.count())]


def test_threshold_drag_flags_audio_marks_keys_and_undoes_in_one_step(scored):
    window, lane = scored, scored.quality.lane
    project = window.project
    scores = project.quality.frame_scores
    before_keys, before_quality = project.keyframes, project.quality
    count = window.undo_stack.count()

    high = float(scores.max()) + 0.01  # everything below it: all audio flagged
    drag_threshold(lane, np.linspace(before_quality.threshold, high, 5))
    assert window.undo_stack.count() == count + 1  # the whole drag is one step
    quality = project.quality
    assert quality.threshold == pytest.approx(high)
    assert quality.flagged_seconds > 0.9 * project.duration
    assert_regions(lane, quality.regions)
    assert all(k.low_confidence for k in project.keyframes if k.source == "inferred")
    assert f"{quality.flagged_seconds:.1f} s flagged" in window.quality.label.text()
    assert window.quality.threshold_box.value() == pytest.approx(round(high, 2))
    wave_x, _ = lane.wave_region_item.getData()
    assert len(wave_x) == 4 * len(quality.regions)
    # The timeline draws those keys with the low-confidence pen.
    drawn = window.timeline.drawn_markers()
    low_ids = {k.id for k in project.keyframes if k.low_confidence}
    assert low_ids and low_ids <= set(drawn["key_low"][1]) | set(drawn["locked_low"][1]) | set(
        drawn["selected"][1])

    window.undo_stack.undo()
    assert project.quality is before_quality and project.keyframes == before_keys
    assert lane.threshold_line.value() == pytest.approx(before_quality.threshold)
    assert_regions(lane, before_quality.regions)

    low = float(scores.min()) - 0.01  # nothing below it
    drag_threshold(lane, [low])
    assert project.quality.regions == [] and lane.drawn_regions() == []
    assert not any(k.low_confidence for k in project.keyframes)

    window.quality.threshold_box.setValue(round(high, 2) + 0.01)  # the spin box is the same edit
    assert project.quality.threshold == pytest.approx(round(high, 2) + 0.01)
    assert all(k.low_confidence for k in project.keyframes if k.source == "inferred")


def test_rescore_keeps_the_users_threshold(scored, qtbot):
    window = scored
    drag_threshold(window.quality.lane, [0.42])
    assert window.actions["score_quality"].isEnabled()
    window.actions["score_quality"].trigger()
    assert not window.actions["score_quality"].isEnabled()
    wait_all(qtbot, window)
    assert window.project.quality.threshold == pytest.approx(0.42)


def test_missing_quality_model_hides_the_lane(make_window, tone_wav, tmp_path, qtbot):
    window = make_window(quality_model_dir=tmp_path / "no-quality-model")
    window.open_path(tone_wav)
    wait_all(qtbot, window)
    assert window.project.keyframes  # emotion analysis is unaffected
    assert window.project.quality is None
    assert not window.quality.lane.plot.isVisible()
    assert "no model" in window.quality.label.text()
    assert not window.quality.threshold_box.isVisible()
    assert not window.quality.start()
    assert "No speech-quality model" in window.statusBar().currentMessage()
    report = window.quality.open_report()
    assert not report.start(tmp_path)
    assert "No speech-quality model" in report.status.text()
    report.close()


@pytest.fixture
def lines_dir(tmp_path):
    folder = tmp_path / "lines"
    folder.mkdir()
    for i, seconds in enumerate((1.0, 1.5, 2.0)):
        audio = speech_like(seconds, seed=i)
        if i == 2:
            audio = audio + 0.2 * np.random.default_rng(9).standard_normal(len(audio)).astype(np.float32)
        sf.write(folder / f"line{i}.wav", audio, SAMPLE_RATE)
    (folder / "notes.txt").write_text("not audio")
    (folder / "broken.wav").write_bytes(b"RIFF nonsense")
    return folder


def test_batch_report_table_histogram_csv_and_open(make_window, tiny_quality_model_dir, lines_dir,
                                                   tmp_path, qtbot):
    window = make_window(quality_model_dir=tiny_quality_model_dir, auto_analyse=False)
    report = window.quality.open_report()
    assert report.isVisible()
    assert report.start(lines_dir)
    qtbot.waitUntil(lambda: report.worker is None, timeout=30_000)
    assert report.table.rowCount() == 3
    rows = report.rows()
    assert sorted(r[0].rsplit("/", 1)[-1] for r in rows) == ["line0.wav", "line1.wav", "line2.wav"]
    assert sorted(round(r[4], 2) for r in rows) == [1.0, 1.5, 2.0]
    assert all(1.0 <= r[1] <= 4.64 and -1.0 <= r[2] <= 1.0 and r[3] >= 0 for r in rows)  # bundled estimator
    assert "3 files scored" in report.status.text() and "1 skipped" in report.status.text()
    assert int(np.sum(report.bars.opts["height"])) == 3
    assert report.progress.value() == report.progress.maximum() == 4

    assert report.histogram.getAxis("bottom").labelText == "Est. PESQ"
    report.table.sortItems(2, Qt.DescendingOrder)
    scores = [r[2] for r in report.rows()]
    assert scores == sorted(scores, reverse=True)

    out = tmp_path / "report.csv"
    assert report.export_csv(out)
    with open(out, newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["file", "estimated_pesq", "vqscore", "flagged_seconds", "duration_seconds", "problems"]
    problems = {row[0].rsplit("/", 1)[-1]: row[5] for row in table[1:]}
    assert "noise" in problems["line2.wav"] and "noise" not in problems["line0.wav"]
    assert [row[0] for row in table[1:]] == [r[0] for r in report.rows()]
    assert [float(row[2]) for row in table[1:]] == pytest.approx(scores, abs=1e-4)
    assert [float(row[1]) for row in table[1:]] == pytest.approx([r[1] for r in report.rows()], abs=0.01)

    # Double-click a row: that line opens in the main window.
    target = report.table.item(0, 0).data(Qt.UserRole)
    rect = report.table.visualItemRect(report.table.item(0, 0))
    qtbot.mouseClick(report.table.viewport(), Qt.LeftButton, pos=rect.center())
    with qtbot.waitSignal(report.openRequested, timeout=5000):
        qtbot.mouseDClick(report.table.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.project is not None, timeout=30_000)
    wait_all(qtbot, window)
    assert str(window.project.audio.path).endswith(target.rsplit("/", 1)[-1])
    report.close()


@pytest.fixture(scope="session")
def tiny_enhancement_model_dir(tmp_path_factory):
    import torch

    from emotrack.ml.quality.enhancement import EnhancementConfig, VQEnhancerModel

    torch.manual_seed(0)
    config = EnhancementConfig(hidden_channels=(16, 16, 8, 8), codebook_size=16, codebook_dim=8,
                               kmeans_iterations=2, transformer_heads=2,
                               transformer_feedforward=16, transformer_layers=1)
    directory = tmp_path_factory.mktemp("enhancement-model")
    VQEnhancerModel(config).eval().save_pretrained(directory)
    return directory


def test_enhance_before_analysis_option(make_window, tiny_enhancement_model_dir, tone_wav,
                                        tmp_path, qtbot, monkeypatch):
    from emotrack.ui import worker as worker_module

    seen = []
    real = worker_module.enhanced_clip
    monkeypatch.setattr(worker_module, "enhanced_clip",
                        lambda clip, model_dir: seen.append(model_dir) or real(clip, model_dir))
    window = make_window(enhancement_model_dir=tiny_enhancement_model_dir, auto_analyse=False)
    enhance = window.actions["enhance"]
    assert enhance.isEnabled() and not enhance.isChecked()
    enhance.trigger()
    assert enhance.isChecked() and window.settings.value("analysis/enhance", type=bool)
    window.open_path(tone_wav)
    wait_all(qtbot, window)
    assert window.start_analysis()
    wait_all(qtbot, window)
    assert seen == [str(tiny_enhancement_model_dir)]
    assert window.project.keyframes, window.last_error
    # The document keeps the original audio.
    assert window.timeline.envelope.samples is not None and len(window.clip.samples) > 0

    missing = make_window(enhancement_model_dir=tmp_path / "no-enhancer")
    assert not missing.actions["enhance"].isEnabled()
    assert not missing.actions["enhance"].isChecked()


def test_lane_labels_the_diagnosed_problems(scored, tmp_path):
    import os

    from emotrack.core import commands
    from emotrack.core.audio_diagnosis import Problem
    from emotrack.ui.quality_lane import problem_label

    window, lane = scored, scored.quality.lane
    project = window.project
    # Scoring diagnosed the clip; its 1 s of digital silence between two takes is a
    # pause, not a dropout.
    assert "dropouts" not in {p.kind for p in project.quality.problems}
    assert sorted(lane.drawn_problems()) == sorted((p.kind, p.start, p.end) for p in project.quality.problems)

    problems = (Problem("clipping", 0.5, 0.8, 0.9, {"peak_dbfs": 0.0}),
                Problem("noise", 0.0, 5.0, 0.5, {"snr_db": 11.6}))
    import dataclasses
    window.push(commands.set_quality(project, dataclasses.replace(
        project.quality, problems=problems), "Diagnose"))
    assert sorted(lane.drawn_problems()) == [("clipping", 0.5, 0.8), ("noise", 0.0, 5.0)]
    assert [label.toPlainText() for label in lane.problem_labels] == ["clipping", "noise 12 dB SNR"]
    assert problem_label(problems[1]) == "noise 12 dB SNR"
    assert "severity 0.50" in lane.problem_labels[1].toolTip()
    # Several regions of one kind share one label, with their count.
    window.push(commands.set_quality(project, dataclasses.replace(project.quality, problems=problems + (
        Problem("clipping", 2.0, 2.1, 0.7, {"peak_dbfs": 0.0}),)), "Diagnose"))
    assert [label.toPlainText() for label in lane.problem_labels] == ["clipping ×2", "noise 12 dB SNR"]
    assert "2.00–2.10 s" in lane.problem_labels[0].toolTip()
    window.undo_stack.undo()
    labels_before = list(lane.problem_labels)
    drag_threshold(lane, [0.4])  # a threshold edit keeps the problems and their labels
    assert lane.problem_labels == labels_before
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert ("clipping", 0.5, 0.8) not in lane.drawn_problems()
    if os.environ.get("EMOTRACK_SCREENSHOT_DIR"):
        window.undo_stack.redo()
        window.undo_stack.redo()
        window.resize(1200, 700)
        window.grab().save(os.path.join(os.environ["EMOTRACK_SCREENSHOT_DIR"], "quality-problems.png"))
