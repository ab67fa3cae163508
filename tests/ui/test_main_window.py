"""Drive the real widgets: open, analyse, edit, undo/redo, save, reopen, recover."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from emotrack.core.emotions import EMOTIONS
from emotrack.core.keyframes import track_arrays
from emotrack.ui.timeline import marker_style



def wait_for_analysis(qtbot, window, timeout: int = 30_000) -> None:
    qtbot.waitUntil(lambda: window.loader is None and window.worker is None, timeout=timeout)


def drawn_curves(window) -> tuple[np.ndarray, np.ndarray]:
    """x and y arrays of every emotion curve as the timeline draws them."""
    items = window.timeline.curve_items
    x = items[0].xData
    return x, np.stack([item.yData for item in items], axis=1)


def assert_drawn_matches_document(window) -> None:
    project = window.project
    times, values = track_arrays(project.keyframes, len(project.labels))
    x, y = drawn_curves(window)
    np.testing.assert_allclose(x[1:-1], times)
    np.testing.assert_allclose(y[1:-1], values)
    drawn = window.timeline.drawn_markers()
    marker_times = np.concatenate([t for t, _ in drawn.values()])
    marker_ids = np.concatenate([ids for _, ids in drawn.values()])
    order = np.argsort(marker_times, kind="stable")
    np.testing.assert_allclose(marker_times[order], times)
    assert sorted(marker_ids) == sorted(k.id for k in project.keyframes)
    for style, (_, ids) in drawn.items():
        assert all(marker_style(project.key_by_id(i), window.selection.ids) == style for i in ids)


def test_open_and_analyse_draws_waveform_curves_and_markers(analysed):
    window = analysed
    project = window.project
    assert [item.name() for item in window.timeline.curve_items] == list(EMOTIONS)
    assert_drawn_matches_document(window)
    wave_x, wave_y = window.timeline.wave_item.getData()
    assert len(wave_x) > 100 and np.max(wave_y) > 0.1
    assert window.undo_stack.count() == 1 and window.modified
    assert window.isWindowModified()
    assert "Anger" in window.timeline.header.text() or "%" in window.timeline.header.text()
    assert not window.progress.isVisible()
    assert project.windows is not None


def test_drag_keyframe_snaps_to_frames_and_is_one_undo_step(analysed):
    window, timeline = analysed, analysed.timeline
    project = window.project
    before = project.keyframes
    key = before[1]
    x0 = key.time
    timeline._drag_start(x0, 1.09, Qt.NoModifier)
    assert timeline.selection.ids == {key.id}
    for step in (0.05, 0.11, 0.2345):
        timeline._drag_move(x0, 1.09, x0 + step, 1.09)
    timeline._drag_finish()
    moved = project.key_by_id(key.id)
    assert moved.time == pytest.approx(round((x0 + 0.2345) * 30) / 30)
    assert window.undo_stack.count() == 2  # analysis + one drag
    assert_drawn_matches_document(window)
    window.undo_stack.undo()
    assert project.keyframes == before
    assert_drawn_matches_document(window)
    window.undo_stack.redo()
    assert project.key_by_id(key.id).time == moved.time


def test_rubber_band_select_delete_lock_and_add(analysed):
    window, timeline = analysed, analysed.timeline
    project = window.project
    keys = project.keyframes
    timeline._drag_start(keys[0].time - 0.01, 1.0, Qt.NoModifier)
    timeline._drag_move(keys[0].time - 0.01, 1.0, keys[1].time + 0.01, 1.15)
    timeline._drag_finish()
    assert timeline.selection.ids == {keys[0].id, keys[1].id}
    window.actions["lock"].trigger()
    assert all(project.key_by_id(k.id).locked for k in keys[:2])
    window.actions["delete"].trigger()
    assert len(project.keyframes) == len(keys) - 2
    assert timeline.selection.ids == frozenset()
    assert_drawn_matches_document(window)
    timeline._on_double_click(0.5, 0.5)
    assert len(project.keyframes) == len(keys) - 1
    (new_id,) = timeline.selection.ids
    assert project.key_by_id(new_id).locked
    for _ in range(3):
        window.undo_stack.undo()
    assert project.keyframes == keys


def test_strength_slider_reblends_live_and_undoes_exactly(analysed, qtbot):
    window = analysed
    project = window.project
    before_keys, before_h = project.keyframes, project.heuristics
    slider = window.controls.strength_sliders[EMOTIONS.index("neutral")]
    slider.setSliderDown(True)
    for value in (80, 50, 20):  # one drag
        slider.setValue(value)
    slider.setSliderDown(False)
    window.controls._end_gesture()
    assert project.heuristics.strengths[EMOTIONS.index("neutral")] == pytest.approx(0.2)
    assert window.undo_stack.count() == 2
    neutral_before = track_arrays(before_keys, 6)[1][:, EMOTIONS.index("neutral")]
    neutral_after = track_arrays(project.keyframes, 6)[1][:, EMOTIONS.index("neutral")]
    assert np.all(neutral_after <= neutral_before + 1e-9) and np.any(neutral_after < neutral_before)
    assert_drawn_matches_document(window)
    window.actions["undo"].trigger()
    assert project.keyframes == before_keys and project.heuristics == before_h
    assert slider.value() == 100
    assert_drawn_matches_document(window)
    window.actions["redo"].trigger()
    assert project.heuristics.strengths[EMOTIONS.index("neutral")] == pytest.approx(0.2)


def test_prior_emotion_pulls_curves_toward_it(analysed):
    window, controls = analysed, analysed.controls
    project = window.project
    controls.prior_check.setChecked(True)
    controls.prior_combo.setCurrentIndex(EMOTIONS.index("joy"))
    controls.prior_slider.setValue(90)
    assert project.heuristics.prior_enabled and project.heuristics.prior_emotion == "joy"
    joy = track_arrays(project.keyframes, 6)[1][:, EMOTIONS.index("joy")]
    assert np.all(joy >= 0.89)
    assert_drawn_matches_document(window)
    for _ in range(3):
        window.undo_stack.undo()
    assert not project.heuristics.prior_enabled
    assert not controls.prior_check.isChecked()


def test_inspector_edit_locks_and_renormalises(analysed):
    window, inspector = analysed, analysed.inspector
    project = window.project
    key = project.keyframes[0]
    window.selection.set([key.id])
    assert inspector.title.text() == f"Keyframe #{key.id}"
    inspector.sliders[EMOTIONS.index("anger")].setValue(700)
    edited = project.key_by_id(key.id)
    assert edited.values[0] == pytest.approx(0.7) and sum(edited.values) == pytest.approx(1.0)
    assert edited.locked and inspector.locked_box.isChecked()
    assert inspector.spins[0].value() == pytest.approx(0.7)
    window.undo_stack.undo()
    assert project.key_by_id(key.id) is key


def test_change_keyframe_interval_rekeys_and_window_change_reruns_network(analysed, qtbot):
    window, controls = analysed, analysed.controls
    project = window.project
    n = len(project.keyframes)
    controls.interval_spin.setValue(2.0)
    controls.apply_button.click()
    assert project.analysis.keyframe_interval == 2.0
    assert len(project.keyframes) < n
    controls.window_spin.setValue(100_000)  # hop 7200 < window/10: rejected, readable
    controls.apply_button.click()
    assert "hop must be between" in controls.analysis_error.text()
    assert project.analysis.window == 14_400
    controls.window_spin.setValue(16_000)
    controls.hop_spin.setValue(8_000)
    controls.apply_button.click()
    assert window.worker is not None
    wait_for_analysis(qtbot, window)
    assert project.analysis.window == 16_000 and project.windows.window == 16_000


def test_cancel_analysis_leaves_document_unchanged(window, tone_wav, qtbot):
    window.auto_analyse = False
    window.open_path(tone_wav)
    wait_for_analysis(qtbot, window)
    assert window.start_analysis()
    window.cancel_analysis()
    wait_for_analysis(qtbot, window)
    assert window.project.keyframes == () and window.undo_stack.count() == 0


def test_save_reopen_and_unsaved_prompt(analysed, tmp_path, make_window, qtbot):
    window = analysed
    path = tmp_path / "take.emotrack"
    window.save_to(path)
    assert path.exists() and not window.modified and not window.isWindowModified()
    window.timeline.select_all()
    window.actions["lock"].trigger()
    asked = []
    window.ask_unsaved = lambda: asked.append(1) or "cancel"
    assert not window.open_path(path)
    assert asked and window.modified
    window.ask_unsaved = lambda: "discard"
    saved_keys = [(k.time, k.values, k.locked) for k in window.project.keyframes]
    other = make_window()
    assert other.open_path(path)
    wait_for_analysis(qtbot, other)
    reopened = other.project
    assert not other.modified
    assert len(reopened.keyframes) == len(saved_keys)
    for key, (time, values, _) in zip(reopened.keyframes, saved_keys):
        assert key.time == pytest.approx(time) and key.values == pytest.approx(values, abs=1e-5)
    assert not any(k.locked for k in reopened.keyframes)  # the lock was never saved
    assert_drawn_matches_document(other)
    assert str(path.resolve()) in other.recent_files()
    assert other.timeline.wave_item.getData()[0] is not None


def test_autosave_and_crash_recovery(analysed, make_window):
    window = analysed
    window.timeline.select_all()
    window.actions["lock"].trigger()
    assert window.autosave()
    assert window.recovery_file.exists()
    expected = [(k.time, k.values, k.locked) for k in window.project.keyframes]
    # "crash": the next start finds the recovery file
    restarted = make_window()
    restarted.ask_recover = lambda: True
    assert restarted.offer_recovery()
    assert restarted.modified and restarted.project.path is None
    got = [(k.time, k.values, k.locked) for k in restarted.project.keyframes]
    assert len(got) == len(expected)
    for (t, v, locked), (t2, v2, locked2) in zip(expected, got):
        assert t == pytest.approx(t2) and v == pytest.approx(v2, abs=1e-5) and locked == locked2
    assert_drawn_matches_document(restarted)
    restarted.save_to(restarted.recovery_dir.parent / "recovered.emotrack")
    assert not restarted.recovery_file.exists()


def test_playback_moves_playhead_with_injected_clock(analysed, clock, streams):
    window = analysed
    window.player.seek(1.0)
    window.actions["play"].trigger()
    assert window.player.playing and streams[-1].started
    pulled = streams[-1].pull(1600)
    np.testing.assert_allclose(pulled, window.clip.samples[16_000:17_600])
    clock.now += 0.5
    window.player.tick()
    assert window.timeline.playhead.value() == pytest.approx(1.5)
    assert "00:01.50" in window.timeline.header.text()
    window.actions["play"].trigger()
    assert not window.player.playing and streams[-1].closed
    window.timeline.seekRequested.emit(3.0)
    assert window.player.position == pytest.approx(3.0)


def test_playback_without_device_reports_in_status_bar(window, tone_wav):
    from emotrack.ui.playback import Player

    def no_device(rate, fill):
        raise RuntimeError("no audio output device (test)")

    window.player.set_audio(np.zeros(16_000, np.float32))
    window.player._factory = no_device
    window.player.play()
    assert not window.player.playing
    assert "no audio output device" in window.statusBar().currentMessage()
    assert isinstance(window.player, Player)


def test_copy_paste_at_playhead(analysed):
    window = analysed
    project = window.project
    keys = project.keyframes[:2]
    window.selection.set(k.id for k in keys)
    window.actions["copy"].trigger()
    window.player.seek(3.0)
    window.actions["paste"].trigger()
    pasted = [project.key_by_id(i) for i in window.selection.ids]
    assert len(pasted) == 2 and min(k.time for k in pasted) == pytest.approx(3.0)


def test_shortcuts_dialog_lists_actions(window):
    dialog = window.show_shortcuts()
    from PySide6.QtWidgets import QTableWidget

    table = dialog.findChild(QTableWidget)
    names = {table.item(i, 0).text() for i in range(table.rowCount())}
    assert {"Delete Keyframes", "Play", "Add Keyframe at Playhead"} <= names
    dialog.close()


def test_open_missing_file_shows_error(window, tmp_path, qtbot):
    window.open_path(tmp_path / "nope.wav")
    wait_for_analysis(qtbot, window)
    assert "nope.wav" in window.last_error and window.project is None


def test_window_stays_responsive_while_opening(window, tone_wav, qtbot):
    assert window.open_path(tone_wav)
    assert window.loader is not None and window.progress.isVisible()
    assert not window.open_path(tone_wav)  # one open at a time
    wait_for_analysis(qtbot, window)
    assert window.project is not None and window.project.keyframes


def test_missing_model_is_reported_not_fatal(make_window, tone_wav, tmp_path, qtbot):
    window = make_window()
    window.model_dir = str(tmp_path / "no-model")
    window.open_path(tone_wav)
    wait_for_analysis(qtbot, window)
    assert "no-model" in window.last_error and window.project.keyframes == ()
    assert window.actions["analyse"].isEnabled()


def test_emotion_model_menu_switches_model_and_reanalyses(qtbot, analysed, idle, tiny_whisper_model_dir):
    window = analysed
    before = [key.values for key in window.project.keyframes]
    window.model_menu.modelChosen.emit(str(tiny_whisper_model_dir))
    idle(window)
    assert window.project.model == str(tiny_whisper_model_dir)
    assert window.settings.value("analysis/model") == str(tiny_whisper_model_dir)
    assert window.model_menu.custom.isChecked()
    assert window.project.keyframes and [key.values for key in window.project.keyframes] != before
    window.model_menu.show_model("fast")
    assert window.model_menu.bundled["fast"].isChecked()


def test_playhead_waits_for_the_output_latency(analysed, clock):
    """The picture follows what is heard: a stream reporting 80 ms of output latency holds
    the playhead (and the face it drives) at the start for 80 ms."""

    class LaggyStream:
        latency = 0.08

        def __init__(self, rate, fill) -> None: ...
        def start(self) -> None: ...
        def stop(self) -> None: ...
        def close(self) -> None: ...

    window = analysed
    window.player._factory = LaggyStream
    window.player.seek(1.0)
    window.player.play()
    clock.now += 0.05
    window.player.tick()
    assert window.player.position == pytest.approx(1.0)
    clock.now += 0.45
    window.player.tick()
    assert window.player.position == pytest.approx(1.42)
    window.player.pause()
