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
