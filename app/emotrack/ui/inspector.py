"""Inspector: the selected keyframe's time, lock state and value per emotion.

Every edit is a core command (``set_emotion_value`` renormalises the other emotions and
locks the key); a slider drag is one undo step. The panel refreshes from model events.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
    QSlider, QVBoxLayout, QWidget,
)

from emotrack.core import commands
from emotrack.core.commands import Command
from emotrack.core.document import Project
from emotrack.core.keyframes import Keyframe

from .selection import Selection
from .theme import label_colour

SLIDER_STEPS = 1000


def colour_chip(colour: str) -> QLabel:
    chip = QLabel()
    chip.setFixedSize(10, 10)
    chip.setStyleSheet(f"background: {colour}; border-radius: 5px;")
    return chip


class Inspector(QWidget):
    def __init__(self, selection: Selection, push: Callable[[Command], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.selection = selection
        self._push = push
        self.project: Project | None = None
        self._gesture = 0
        self._refreshing = False

        self.title = QLabel("No keyframe selected")
        self.title.setStyleSheet("font-weight: bold;")
        self.time_spin = QDoubleSpinBox(decimals=3, suffix=" s", singleStep=1 / 30)
        self.time_spin.setRange(0.0, 1e6)
        self.frame_label = QLabel("")
        self.locked_box = QCheckBox("Locked (kept by re-analysis and heuristics)")
        self.source_label = QLabel("")
        self.source_label.setWordWrap(True)
        form = QFormLayout()
        time_row = QHBoxLayout()
        time_row.addWidget(self.time_spin, 1)
        time_row.addWidget(self.frame_label)
        form.addRow("Time", time_row)
        form.addRow("", self.locked_box)
        form.addRow("Source", self.source_label)

        self.values_box = QGroupBox("Emotion values")
        self.grid = QGridLayout(self.values_box)
        self.sliders: list[QSlider] = []
        self.spins: list[QDoubleSpinBox] = []
        self._grid_labels: tuple[str, ...] = ()

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(form)
        layout.addWidget(self.values_box)
        layout.addStretch(1)

        self.time_spin.valueChanged.connect(self._time_edited)
        self.time_spin.editingFinished.connect(self._end_gesture)
        self.locked_box.toggled.connect(self._lock_edited)
        selection.changed.connect(self.refresh)
        self.refresh()

    def set_project(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.events.keyframes.disconnect(self.refresh)
        self.project = project
        if project is not None:
            project.events.keyframes.connect(self.refresh)
            self._build_rows(project.labels)
        self.refresh()

    def _build_rows(self, labels: tuple[str, ...]) -> None:
        if labels == self._grid_labels:
            return
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.sliders, self.spins = [], []
        for i, name in enumerate(labels):
            slider = QSlider(Qt.Horizontal)
            slider.setRange(0, SLIDER_STEPS)
            spin = QDoubleSpinBox(decimals=3, singleStep=0.01)
            spin.setRange(0.0, 1.0)
            spin.setKeyboardTracking(False)
            self.grid.addWidget(colour_chip(label_colour(name, i)), i, 0)
            self.grid.addWidget(QLabel(name.capitalize()), i, 1)
            self.grid.addWidget(slider, i, 2)
            self.grid.addWidget(spin, i, 3)
            slider.valueChanged.connect(lambda v, i=i: self._value_edited(i, v / SLIDER_STEPS))
            slider.sliderReleased.connect(self._end_gesture)
            spin.valueChanged.connect(lambda v, i=i: self._value_edited(i, v))
            spin.editingFinished.connect(self._end_gesture)
            self.sliders.append(slider)
            self.spins.append(spin)
        self._grid_labels = labels

    # --- model -> widgets ------------------------------------------------------------
    def current_key(self) -> Keyframe | None:
        if self.project is None or len(self.selection.ids) != 1:
            return None
        try:
            return self.project.key_by_id(next(iter(self.selection.ids)))
        except KeyError:
            return None

    def refresh(self, *_) -> None:
        key = self.current_key()
        n = len(self.selection.ids)
        self._refreshing = True
        try:
            enabled = key is not None
            for widget in (self.time_spin, self.locked_box, self.values_box):
                widget.setEnabled(enabled)
            if key is None:
                self.title.setText(f"{n} keyframes selected" if n > 1 else "No keyframe selected")
                self.frame_label.setText("")
                self.source_label.setText("")
                return
            fps = self.project.fps
            self.title.setText(f"Keyframe #{key.id}")
            self.time_spin.setSingleStep(1 / fps)
            self.time_spin.setValue(key.time)
            self.frame_label.setText(f"frame {round(key.time * fps)}")
            self.locked_box.setChecked(key.locked)
            flags = [key.source]
            if key.low_confidence:
                flags.append("low confidence (bad audio)")
            self.source_label.setText(", ".join(flags))
            for slider, spin, value in zip(self.sliders, self.spins, key.values):
                if not slider.isSliderDown():
                    slider.setValue(round(value * SLIDER_STEPS))
                if not spin.hasFocus():
                    spin.setValue(value)
        finally:
            self._refreshing = False

    # --- widgets -> commands -----------------------------------------------------------
    def _end_gesture(self) -> None:
        self._gesture += 1

    def _value_edited(self, index: int, value: float) -> None:
        key = self.current_key()
        if self._refreshing or key is None or abs(key.values[index] - value) < 1e-6:
            return
        self._push(commands.set_emotion_value(
            self.project, key.id, index, value, merge_key=f"inspector:{key.id}:{index}:{self._gesture}"))

    def _time_edited(self, time: float) -> None:
        key = self.current_key()
        if self._refreshing or key is None or abs(key.time - time) < 1e-9:
            return
        self._push(commands.set_keyframe_time(self.project, key.id, time, self.project.fps,
                                              merge_key=f"inspector-time:{key.id}:{self._gesture}"))

    def _lock_edited(self, locked: bool) -> None:
        key = self.current_key()
        if self._refreshing or key is None or key.locked == locked:
            return
        self._push(commands.set_locked(self.project, [key.id], locked))
