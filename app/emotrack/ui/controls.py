"""Emotion controls: heuristic settings (applied live) and analysis settings.

Heuristic edits go through ``change_heuristics`` with a merge key per control and
gesture, so one slider drag is one undo step. Analysis edits are applied with the Apply
button: ``change_analysis`` re-keys from stored windows; a changed window or hop needs
the network again, which the window runs in the worker (``analysisRequested``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout,
    QLabel, QPushButton, QSlider, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from emotrack.core import commands
from emotrack.core.commands import Command
from emotrack.core.document import Project
from emotrack.core.emotions import EMOTIONS
from emotrack.core.settings import ANCHORS, SAMPLE_RATE, AnalysisSettings, HeuristicSettings
from emotrack.errors import ParameterError

from .inspector import colour_chip
from .theme import label_colour

DEFAULTS = HeuristicSettings()


def _slider(maximum: int = 100) -> QSlider:
    slider = QSlider(Qt.Horizontal)
    slider.setRange(0, maximum)
    return slider


def _reset_button(tooltip: str) -> QToolButton:
    button = QToolButton()
    button.setText("↺")
    button.setToolTip(tooltip)
    button.setAutoRaise(True)
    return button


class EmotionControls(QWidget):
    analysisRequested = Signal(object)  # AnalysisSettings whose window/hop need inference

    def __init__(self, push: Callable[[Command], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._push = push
        self.project: Project | None = None
        self._gesture = 0
        self._refreshing = False

        # --- heuristics ---
        heur = QGroupBox("Heuristics (live)")
        grid = QGridLayout(heur)
        grid.setColumnStretch(2, 1)
        row = 0

        def header(check: QCheckBox, reset: QToolButton) -> None:
            nonlocal row
            grid.addWidget(check, row, 0, 1, 3)
            grid.addWidget(reset, row, 4)
            row += 1

        self.strength_check = QCheckBox("Strength per emotion")
        self.strength_reset = _reset_button("Reset all strengths to 1")
        header(self.strength_check, self.strength_reset)
        self.strength_sliders: list[QSlider] = []
        self.strength_labels: list[QLabel] = []
        for i, name in enumerate(EMOTIONS):
            slider = _slider()
            value = QLabel("1.00")
            value.setMinimumWidth(32)
            grid.addWidget(colour_chip(label_colour(name, i)), row, 0, Qt.AlignRight)
            grid.addWidget(QLabel(name.capitalize()), row, 1)
            grid.addWidget(slider, row, 2)
            grid.addWidget(value, row, 3)
            slider.valueChanged.connect(lambda v, name=name: self._set_strength(name, v / 100))
            slider.sliderReleased.connect(self._end_gesture)
            self.strength_sliders.append(slider)
            self.strength_labels.append(value)
            row += 1

        self.prior_check = QCheckBox("Prior emotion")
        self.prior_reset = _reset_button("Reset prior")
        header(self.prior_check, self.prior_reset)
        self.prior_combo = QComboBox()
        self.prior_combo.addItems([e.capitalize() for e in EMOTIONS])
        self.prior_slider = _slider()
        self.prior_label = QLabel("0.00")
        grid.addWidget(self.prior_combo, row, 0, 1, 2)
        grid.addWidget(self.prior_slider, row, 2)
        grid.addWidget(self.prior_label, row, 3)
        row += 1

        def single(check_text: str, editor: QWidget, reset_tip: str):
            nonlocal row
            check = QCheckBox(check_text)
            reset = _reset_button(reset_tip)
            grid.addWidget(check, row, 0, 1, 2)
            grid.addWidget(editor, row, 2, 1, 2)
            grid.addWidget(reset, row, 4)
            row += 1
            return check, reset

        self.smoothing_spin = QSpinBox(suffix=" keys")
        self.smoothing_spin.setRange(2, 10)
        self.smoothing_check, self.smoothing_reset = single(
            "Smoothing", self.smoothing_spin, "Reset smoothing")
        self.contrast_spin = QDoubleSpinBox(decimals=2, singleStep=0.1)
        self.contrast_spin.setRange(0.1, 10.0)
        self.contrast_check, self.contrast_reset = single(
            "Contrast", self.contrast_spin, "Reset contrast")
        threshold_row = QWidget()
        tl = QHBoxLayout(threshold_row)
        tl.setContentsMargins(0, 0, 0, 0)
        self.threshold_slider = _slider(90)
        self.threshold_label = QLabel("0.10")
        tl.addWidget(self.threshold_slider, 1)
        tl.addWidget(self.threshold_label)
        self.threshold_check, self.threshold_reset = single(
            "Threshold", threshold_row, "Reset threshold")
        self.max_spin = QSpinBox()
        self.max_spin.setRange(1, len(EMOTIONS))
        self.max_check, self.max_reset = single("Max emotions", self.max_spin, "Reset max emotions")

        # --- analysis ---
        ana = QGroupBox("Analysis")
        form = QFormLayout(ana)
        self.window_spin = QSpinBox(suffix=" samples", singleStep=800)
        self.window_spin.setRange(400, 30 * SAMPLE_RATE)
        self.hop_spin = QSpinBox(suffix=" samples", singleStep=400)
        self.hop_spin.setRange(40, 15 * SAMPLE_RATE)
        self.interval_spin = QDoubleSpinBox(decimals=2, suffix=" s", singleStep=0.25)
        self.interval_spin.setRange(0.05, 60.0)
        self.anchor_combo = QComboBox()
        self.anchor_combo.addItems(list(ANCHORS))
        self.adaptive_check = QCheckBox("Adaptive (cut at pauses and emotion changes)")
        self.apply_button = QPushButton("Apply")
        self.analysis_error = QLabel("")
        self.analysis_error.setWordWrap(True)
        self.analysis_error.setStyleSheet("color: #e5484d;")
        form.addRow("Window", self.window_spin)
        form.addRow("Hop", self.hop_spin)
        form.addRow("Keyframe interval", self.interval_spin)
        form.addRow("Anchor", self.anchor_combo)
        form.addRow("", self.adaptive_check)
        form.addRow("", self.apply_button)
        form.addRow(self.analysis_error)

        layout = QVBoxLayout(self)
        layout.addWidget(heur)
        layout.addWidget(ana)
        layout.addStretch(1)

        # --- wiring ---
        self.strength_check.toggled.connect(lambda on: self._change("Strength", strength_enabled=on))
        self.strength_reset.clicked.connect(
            lambda: self._change("Reset strengths", strengths=DEFAULTS.strengths))
        self.prior_check.toggled.connect(lambda on: self._change("Prior", prior_enabled=on))
        self.prior_combo.currentIndexChanged.connect(
            lambda i: self._change("Prior emotion", prior_emotion=EMOTIONS[i]))
        self.prior_slider.valueChanged.connect(
            lambda v: self._change("Prior strength", "prior_strength", prior_strength=v / 100))
        self.prior_slider.sliderReleased.connect(self._end_gesture)
        self.prior_reset.clicked.connect(lambda: self._change(
            "Reset prior", prior_emotion=DEFAULTS.prior_emotion, prior_strength=DEFAULTS.prior_strength))
        self.smoothing_check.toggled.connect(lambda on: self._change("Smoothing", smoothing_enabled=on))
        self.smoothing_spin.valueChanged.connect(
            lambda v: self._change("Smoothing", "smoothing", smoothing=v))
        self.smoothing_reset.clicked.connect(lambda: self._change("Reset smoothing", smoothing=DEFAULTS.smoothing))
        self.contrast_check.toggled.connect(lambda on: self._change("Contrast", contrast_enabled=on))
        self.contrast_spin.valueChanged.connect(
            lambda v: self._change("Contrast", "contrast", contrast=round(v, 2)))
        self.contrast_reset.clicked.connect(lambda: self._change("Reset contrast", contrast=DEFAULTS.contrast))
        self.threshold_check.toggled.connect(lambda on: self._change("Threshold", threshold_enabled=on))
        self.threshold_slider.valueChanged.connect(
            lambda v: self._change("Threshold", "threshold", threshold=v / 100))
        self.threshold_slider.sliderReleased.connect(self._end_gesture)
        self.threshold_reset.clicked.connect(lambda: self._change("Reset threshold", threshold=DEFAULTS.threshold))
        self.max_check.toggled.connect(lambda on: self._change("Max emotions", max_emotions_enabled=on))
        self.max_spin.valueChanged.connect(lambda v: self._change("Max emotions", "max", max_emotions=v))
        self.max_reset.clicked.connect(lambda: self._change("Reset max emotions", max_emotions=DEFAULTS.max_emotions))
        for spin in (self.smoothing_spin, self.contrast_spin, self.max_spin):
            spin.editingFinished.connect(self._end_gesture)
        self.apply_button.clicked.connect(self.apply_analysis_settings)
        self.setEnabled(False)

    # --- binding -----------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.events.heuristics.disconnect(self.refresh)
            self.project.events.analysis.disconnect(self.refresh)
        self.project = project
        if project is not None:
            project.events.heuristics.connect(self.refresh)
            project.events.analysis.connect(self.refresh)
        self.setEnabled(project is not None)
        self.refresh()

    def refresh(self, *_) -> None:
        if self.project is None:
            return
        h, a = self.project.heuristics, self.project.analysis
        self._refreshing = True
        try:
            self.strength_check.setChecked(h.strength_enabled)
            for slider, label, value in zip(self.strength_sliders, self.strength_labels, h.strengths):
                if not slider.isSliderDown():
                    slider.setValue(round(value * 100))
                label.setText(f"{value:.2f}")
                slider.setEnabled(h.strength_enabled)
            self.prior_check.setChecked(h.prior_enabled)
            self.prior_combo.setCurrentIndex(EMOTIONS.index(h.prior_emotion))
            if not self.prior_slider.isSliderDown():
                self.prior_slider.setValue(round(h.prior_strength * 100))
            self.prior_label.setText(f"{h.prior_strength:.2f}")
            self.smoothing_check.setChecked(h.smoothing_enabled)
            self.smoothing_spin.setValue(h.smoothing)
            self.contrast_check.setChecked(h.contrast_enabled)
            self.contrast_spin.setValue(h.contrast)
            self.threshold_check.setChecked(h.threshold_enabled)
            if not self.threshold_slider.isSliderDown():
                self.threshold_slider.setValue(round(h.threshold * 100))
            self.threshold_label.setText(f"{h.threshold:.2f}")
            self.max_check.setChecked(h.max_emotions_enabled)
            self.max_spin.setValue(h.max_emotions)
            for check, widgets in (
                (self.prior_check, (self.prior_combo, self.prior_slider)),
                (self.smoothing_check, (self.smoothing_spin,)),
                (self.contrast_check, (self.contrast_spin,)),
                (self.threshold_check, (self.threshold_slider,)),
                (self.max_check, (self.max_spin,)),
            ):
                for widget in widgets:
                    widget.setEnabled(check.isChecked())
            self.window_spin.setValue(a.window)
            self.hop_spin.setValue(a.hop)
            self.interval_spin.setValue(a.keyframe_interval)
            self.anchor_combo.setCurrentText(a.anchor)
            self.adaptive_check.setChecked(a.adaptive)
        finally:
            self._refreshing = False

    # --- widgets -> commands ---------------------------------------------------------------
    def _end_gesture(self) -> None:
        self._gesture += 1

    def _change(self, text: str, merge: str | None = None, **fields) -> None:
        """Apply changed heuristic fields; ``merge`` names a continuous control."""
        project = self.project
        if self._refreshing or project is None:
            return
        current = project.heuristics
        if all(getattr(current, k) == v for k, v in fields.items()):
            return
        try:
            settings = replace(current, **fields)
        except ParameterError as error:
            self.window().statusBar().showMessage(str(error), 5000)
            return
        merge_key = f"heuristic:{merge}:{self._gesture}" if merge else None
        self._push(commands.change_heuristics(project, settings, merge_key, text=f"Change {text.lower()}"
                                              if not text.startswith("Reset") else text))

    def _set_strength(self, emotion: str, value: float) -> None:
        if self.project is None:
            return
        settings = self.project.heuristics.with_strength(emotion, value)
        self._change(f"{emotion} strength", f"strength-{emotion}", strengths=settings.strengths)

    def analysis_settings_from_widgets(self) -> AnalysisSettings:
        """Raises ParameterError with a readable message when the combination is invalid."""
        return replace(self.project.analysis, window=self.window_spin.value(),
                       hop=self.hop_spin.value(), keyframe_interval=self.interval_spin.value(),
                       anchor=self.anchor_combo.currentText(), adaptive=self.adaptive_check.isChecked())

    def apply_analysis_settings(self) -> None:
        project = self.project
        if project is None:
            return
        try:
            settings = self.analysis_settings_from_widgets()
        except ParameterError as error:
            self.analysis_error.setText(str(error))
            return
        self.analysis_error.setText("")
        if settings == project.analysis and project.windows is not None:
            return
        if project.windows is None or settings.needs_inference_since(project.analysis):
            self.analysisRequested.emit(settings)
        else:
            self._push(commands.change_analysis(project, settings))
