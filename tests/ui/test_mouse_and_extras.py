"""Real mouse events on the timeline, export, loop and theme."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from emotrack.ui.timeline import KEY_LANE_Y


def to_viewport(timeline, t: float, y: float):
    scene = timeline.curves_vb.mapViewToScene(QPointF(t, y))
    return timeline.view.mapFromScene(scene)


def test_mouse_click_selects_and_drag_moves_a_key(analysed, qtbot):
    window = analysed
    timeline = window.timeline
    project = window.project
    key = project.keyframes[2]
    viewport = timeline.view.viewport()
    start = to_viewport(timeline, key.time, KEY_LANE_Y)
    QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier, start)
    assert timeline.selection.ids == {key.id}
    end = to_viewport(timeline, key.time + 0.5, KEY_LANE_Y)
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    for i in range(1, 6):
        QTest.mouseMove(viewport, start + (end - start) * i / 5)
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, end)
    moved = project.key_by_id(key.id)
    assert moved.time > key.time + 0.3
    assert moved.time * 30 == pytest.approx(round(moved.time * 30))
    assert window.undo_stack.count() == 2
    # click on empty curve space seeks the playhead and clears the selection
    QTest.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier, to_viewport(timeline, 1.25, 0.5))
    assert window.player.position == pytest.approx(1.25, abs=0.05)
    assert timeline.selection.ids == frozenset()


def test_export_curves_csv_and_keyframes_json(analysed, tmp_path):
    window = analysed
    csv_path = tmp_path / "curves.csv"
    assert window.export_to("curves_csv", csv_path, 24)
    rows = list(csv.reader(csv_path.open()))
    assert len(rows) > 24 * 4  # one row per frame of a ~5 s clip, plus a header
    assert window.export_to("keyframes_json", tmp_path / "keys.json", 24)
    assert (tmp_path / "keys.json").stat().st_size > 100
    # The export runs in a worker thread; its failure still reaches the user.
    assert not window.export_to("curves_json", tmp_path / "keys.json" / "c.json", 24)  # a file as folder
    assert "Export failed" in window.last_error and "keys.json" in window.last_error


def test_loop_over_selected_keys(analysed, clock):
    window = analysed
    keys = window.project.keyframes
    window.selection.set([keys[0].id, keys[2].id])
    window.actions["loop"].trigger()
    assert window.player.loop == (keys[0].time, keys[2].time)
    window.player.seek(keys[2].time - 0.1)
    window.player.play()
    clock.now += 0.3
    window.player.tick()
    assert window.player.position == pytest.approx(keys[0].time)
    window.player.pause()


def test_theme_switch_recolours_plots_and_is_remembered(window):
    window.actions["theme"].trigger()
    assert window.timeline.theme.name == "light"
    assert window.settings.value("theme") == "light"
    window.actions["theme"].trigger()
    assert window.timeline.theme.name == "dark"


def test_record_a_take_then_open_and_analyse_it(window, qtbot, tmp_path):
    import numpy as np

    from emotrack.ui.record import RECORD_RATE

    class Mic:
        def __init__(self, rate, push):
            self.push = push

        def start(self):
            pass

        def stop(self):
            pass

        def close(self):
            pass

    mics = []
    window.input_factory = lambda rate, push: mics.append(Mic(rate, push)) or mics[-1]
    dialog = window.record_dialog()
    dialog.path_edit.setText(str(tmp_path / "take.wav"))
    dialog.record_button.click()
    assert dialog.recorder.recording
    t = np.arange(RECORD_RATE * 3) / RECORD_RATE
    take = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2).astype(np.float32)
    for block in np.array_split(take, 30):
        mics[-1].push(block)
    dialog.refresh()
    assert dialog.elapsed.text() == "3.0 s" and dialog.meter.value() > 5
    dialog.record_button.click()
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert (tmp_path / "take.wav").exists()
    qtbot.waitUntil(lambda: window.loader is None and window.worker is None
                    and window.project is not None, timeout=30_000)
    assert window.clip.duration == pytest.approx(3.0, abs=0.01)
    assert window.project.keyframes


def test_record_without_microphone_says_so(window):
    def no_mic(rate, push):
        raise RuntimeError("no audio input device (test)")

    window.input_factory = no_mic
    dialog = window.record_dialog()
    dialog.record_button.click()
    assert not dialog.recorder.recording and not dialog.record_button.isChecked()
    assert "no audio input device" in dialog.message.text()
    dialog.reject()


def test_app_entry_opens_the_file_given_on_the_command_line(qtbot, tone_wav, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from emotrack.ui import app as app_module, main_window

    monkeypatch.setattr(main_window, "default_recovery_dir", lambda: tmp_path / "recovery")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path))
    _app, window = app_module.create_window([str(tone_wav)])
    qtbot.addWidget(window)
    window.auto_analyse = False
    window.ask_unsaved = lambda: "discard"
    qtbot.waitUntil(lambda: window.loader is None, timeout=20_000)
    assert window.project is not None and window.project.audio.path.endswith("tone.wav")
    window.worker and window.cancel_analysis(wait=True)


def test_stacked_view_draws_cumulative_bands(analysed):
    import numpy as np

    from emotrack.core.keyframes import track_arrays

    window = analysed
    window.actions["stacked"].trigger()
    timeline = window.timeline
    assert timeline.stacked and not timeline.curve_items[0].isVisible()
    _, values = track_arrays(window.project.keyframes, 6)
    np.testing.assert_allclose(timeline.stack_tops[-1].yData[1:-1], 1.0, atol=1e-6)
    np.testing.assert_allclose(timeline.stack_tops[2].yData[1:-1], values[:, :3].sum(axis=1))
    window.controls.strength_sliders[4].setValue(30)  # live update while stacked
    _, values = track_arrays(window.project.keyframes, 6)
    np.testing.assert_allclose(timeline.stack_tops[3].yData[1:-1], values[:, :4].sum(axis=1))
    window.actions["stacked"].trigger()
    assert timeline.curve_items[0].isVisible() and not timeline.stack_fills[0].isVisible()


def test_playback_pages_a_zoomed_view_to_follow_the_playhead(analysed, clock):
    window = analysed
    window.timeline.wave_plot.setXRange(0.0, 1.0, padding=0)
    window.player.seek(0.5)
    window.player.play()
    clock.now += 1.5
    window.player.tick()
    t0, t1 = window.timeline.wave_plot.getViewBox().viewRange()[0]
    assert t0 <= 2.0 <= t1
    window.player.pause()


def test_drop_a_file_opens_it(window, tone_wav, qtbot):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    window.auto_analyse = False
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tone_wav))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.loader is None and window.project is not None, timeout=20_000)
    assert window.project.audio.path.endswith("tone.wav")


def test_layout_recent_files_and_theme_survive_a_restart(analysed, make_window, tone_wav):
    window = analysed
    window.set_theme("light")
    window.docks["history"].hide()
    window.close()
    again = make_window()
    assert again.recent_files()[0] == str(tone_wav.resolve())
    assert [a.text() for a in again.recent_menu.actions()] == ["tone.wav"]
    assert again.settings.value("theme") == "light"
    assert again.docks["history"].isHidden()


def test_frame_rate_menu_sets_ruler_snapping_and_export_rate_undoably(analysed):
    window = analysed
    project = window.project
    checked = [a.text() for a in window.fps_actions.actions() if a.isChecked()]
    assert checked == [f"{project.fps} fps"]
    count = window.undo_stack.count()
    next(a for a in window.fps_actions.actions() if a.text() == "25 fps").trigger()
    assert project.fps == 25 and window.timeline.frame_axis.fps == 25
    assert window.undo_stack.count() == count + 1
    assert "@ 25 fps" in window.timeline.header.text()
    window.undo_stack.undo()
    assert project.fps == 30 and window.timeline.frame_axis.fps == 30
    assert [a.text() for a in window.fps_actions.actions() if a.isChecked()] == ["30 fps"]
