"""The Face Controls dock: one slider (+ exact value box and reset) per face control.

The rows are built from :attr:`FaceControls.SPECS`, so a control added in the core
shows up here without code. Every change is a :func:`commands.set_face_controls`
pushed through the window's undo stack; one slider drag is one undo step. The panel
follows ``project.events.face_controls``, so undo, redo and opening a project show.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDoubleSpinBox, QGridLayout, QLabel, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

from emotrack.core import commands
from emotrack.core.face_controls import ControlSpec, FaceControls
from emotrack.errors import ParameterError

from .controls import _reset_button

SLIDER_STEPS = 1000  # slider resolution over each control's range (the box is exact)


class FaceControlRow:
    """Label, slider, value box and reset button of one control."""

    def __init__(self, spec: ControlSpec, changed, released) -> None:
        self.spec = spec
        unit = f" ({spec.unit})" if spec.unit else ""
        self.label = QLabel(spec.label + unit)
        self.label.setToolTip(spec.help)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip(spec.help)
        if spec.integer:
            self.box = QSpinBox()
            self.box.setRange(int(spec.low), int(spec.high))
        else:
            self.box = QDoubleSpinBox()
            self.box.setRange(spec.low, spec.high)
            self.box.setSingleStep(spec.step)
            self.box.setDecimals(max(0, len(f"{spec.step:g}".partition(".")[2])))
        self.box.setKeyboardTracking(False)  # a typed value applies on Enter, not per digit
        if spec.integer and spec.high - spec.low > SLIDER_STEPS:
            self.slider.hide()  # a seed is picked, not dragged: the box alone
        self.reset = _reset_button(f"Reset {spec.label.lower()} to {spec.default:g}")
        self.slider.valueChanged.connect(lambda step: changed(spec, self.value_of_step(step), True))
        self.slider.sliderReleased.connect(released)
        self.box.valueChanged.connect(lambda value: changed(spec, value, False))
        self.reset.clicked.connect(lambda: changed(spec, spec.default, False))

    def value_of_step(self, step: int) -> float:
        value = self.spec.low + (self.spec.high - self.spec.low) * step / SLIDER_STEPS
        return round(value) if self.spec.integer else round(value / self.spec.step) * self.spec.step

    def show(self, value: float) -> None:  # noqa: A003 - "show this value"
        span = self.spec.high - self.spec.low
        self.slider.setValue(round((value - self.spec.low) / span * SLIDER_STEPS) if span else 0)
        self.box.setValue(value)
        self.reset.setEnabled(value != self.spec.default)


class FaceControlsPanel(QWidget):
    def __init__(self, push, parent=None) -> None:
        super().__init__(parent)
        self._push = push
        self.project = None
        self._refreshing = False
        self._gesture = 0  # one slider drag = one merge key = one undo step
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        self.rows: dict[str, FaceControlRow] = {}
        for line, spec in enumerate(FaceControls.SPECS):
            row = FaceControlRow(spec, self._change, self._end_gesture)
            for column, widget in enumerate((row.label, row.slider, row.box, row.reset)):
                grid.addWidget(widget, line, column)
            self.rows[spec.name] = row
        self.reset_all = QPushButton("Reset All")
        self.reset_all.setToolTip("Every face control back to its default, as one undo step")
        self.reset_all.clicked.connect(self.reset_everything)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.reset_all, 0, Qt.AlignRight)
        layout.addStretch(1)
        self.set_project(None)

    def set_project(self, project) -> None:
        if self.project is not None:
            self.project.events.face_controls.disconnect(self._show)
        self.project = project
        if project is not None:
            project.events.face_controls.connect(self._show)
        self.setEnabled(project is not None)
        self._show(project.face_controls if project is not None else FaceControls())

    def _show(self, controls: FaceControls) -> None:
        self._refreshing = True
        try:
            for name, row in self.rows.items():
                row.show(getattr(controls, name))
            self.reset_all.setEnabled(controls != FaceControls())
        finally:
            self._refreshing = False

    def _end_gesture(self) -> None:
        self._gesture += 1

    def _change(self, spec: ControlSpec, value: float, dragging: bool) -> None:
        project = self.project
        if self._refreshing or project is None or getattr(project.face_controls, spec.name) == value:
            return
        try:
            controls = replace(project.face_controls, **{spec.name: value})
        except ParameterError as error:
            self.window().statusBar().showMessage(str(error), 5000)
            return
        merge_key = f"face:{spec.name}:{self._gesture}" if dragging else None
        self._push(commands.set_face_controls(project, controls, merge_key, text=f"Change {spec.label.lower()}"))

    def reset_everything(self) -> None:
        if self.project is not None and self.project.face_controls != FaceControls():
            self._push(commands.set_face_controls(self.project, FaceControls(), text="Reset face controls"))
