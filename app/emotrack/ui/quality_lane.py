"""The speech-quality lane: per-frame VQScore under the waveform, flagged audio shaded.

A ``pg.PlotItem`` inserted into the timeline's layout between the waveform and the
emotion curves, x-linked to them. It observes ``project.events.quality`` and only draws
what the core computed (``QualityTrack.frame_scores`` and ``.regions``): items are created
once and updated with ``setData``. The threshold is a horizontal line the user drags (one
undo step per drag) or a spin box (``make_threshold_box``); both push
``commands.set_quality`` with a new threshold, so the core re-flags the audio and marks
the keys inferred over it low-confidence.

Diagnosed problems (``QualityTrack.problems``) are coloured bars along the top of the
lane, one row per kind, labelled once per kind ("noise 12 dB", "dropouts ×3") with a tooltip
listing each region's span and severity; the bars are one item per kind, the labels are rebuilt only when the problems
change (not on every threshold drag).

The lane is hidden while the project has no quality scores (no model, not scored yet).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDoubleSpinBox

from emotrack.core import commands
from emotrack.core.commands import Command
from emotrack.core.audio_diagnosis import KINDS, Problem
from emotrack.core.document import Project, QualityTrack

from .theme import DARK, Theme

LANE_ROW = 1  # between the waveform (row 0) and the emotion curves
FLAG_COLOUR = "#e5484d"
SCORE_COLOUR = "#3fb6a8"
THRESHOLD_COLOUR = "#f5a524"
WAVE_Y = (-1.0, 1.0)
# One colour per problem kind (KINDS order); bright enough on both themes.
PROBLEM_COLOURS = {"clipping": "#e5484d", "level_low": "#8e8cd8", "level_high": "#f76b15",
                   "noise": "#a18072", "band_limit": "#3e9b4f", "dropouts": "#e93d82",
                   "reverberation": "#0090ff"}
PROBLEM_ROW_HEIGHT = 0.07  # of the lane's 0..1 score range, per kind
PROBLEM_TOP = 0.97  # the first row, just inside the top edge so its bar is not cut


def problem_label(problem: Problem) -> str:
    """Short text for a problem: its kind and what was measured."""
    detail = problem.detail
    kind = problem.kind.replace("_", " ")
    if "snr_db" in detail:
        return f"{kind} {detail['snr_db']:.0f} dB SNR"
    if "cutoff_hz" in detail:
        return f"{kind} {detail['cutoff_hz'] / 1000:.1f} kHz"
    if "active_dbfs" in detail:
        return f"{kind} {detail['active_dbfs']:.0f} dBFS"
    if "rt60_s" in detail:
        return f"{kind} RT60 {detail['rt60_s']:.1f} s"
    return kind


def problem_tooltip(problem: Problem) -> str:
    return (f"{problem_label(problem)}\n{problem.start:.2f}–{problem.end:.2f} s, "
            f"severity {problem.severity:.2f}")


def region_outline(regions, bottom: float, top: float) -> tuple[np.ndarray, np.ndarray]:
    """x/y of one filled outline covering every [start, end] span (filled down to
    ``bottom``): one item draws any number of regions."""
    spans = np.asarray(regions, dtype=float).reshape(-1, 2)
    x = np.repeat(spans, 2, axis=1).ravel()  # s, s, e, e per region
    y = np.tile([bottom, top, top, bottom], len(spans)).astype(float)
    return x, y


def spans_from_outline(x: np.ndarray | None) -> list[list[float]]:
    """Inverse of :func:`region_outline` (what the lane currently shows)."""
    if x is None or len(x) == 0:
        return []
    return [[float(x[i]), float(x[i + 2])] for i in range(0, len(x), 4)]


class QualityLane(QObject):
    """Draws one project's ``QualityTrack`` into ``timeline``; ``push`` applies commands."""

    _drag_serial = itertools.count()

    def __init__(self, timeline, push: Callable[[Command], None]) -> None:
        super().__init__(timeline)
        self.timeline = timeline
        self._push = push
        self.project: Project | None = None
        self.theme: Theme = DARK
        self._merge_key: str | None = None
        self._spin: QDoubleSpinBox | None = None

        self.plot = pg.PlotItem()
        self._insert_into_timeline()
        p = self.plot
        p.setXLink(timeline.wave_plot)
        p.hideAxis("bottom")
        p.setLabel("left", "quality")
        p.getAxis("left").setWidth(48)
        p.setMenuEnabled(False)
        p.hideButtons()
        p.setMouseEnabled(x=True, y=False)
        p.setYRange(0.0, 1.0, padding=0.04)
        p.showGrid(x=True, y=False, alpha=0.15)
        p.getAxis("left").setTicks([[(0, "0"), (0.5, ".5"), (1, "1")], []])

        brush = pg.mkColor(FLAG_COLOUR)
        brush.setAlpha(70)
        self.region_item = pg.PlotDataItem(pen=None, fillLevel=0.0, brush=brush)
        self.region_item.setZValue(-5)
        p.addItem(self.region_item)
        self.score_item = pg.PlotDataItem(pen=pg.mkPen(SCORE_COLOUR, width=1), antialias=True)
        self.score_item.setDownsampling(auto=True, method="peak")
        self.score_item.setClipToView(True)
        self.score_item.setZValue(10)
        p.addItem(self.score_item)
        self.threshold_line = pg.InfiniteLine(
            pos=0.5, angle=0, movable=True,
            pen=pg.mkPen(THRESHOLD_COLOUR, width=1, style=Qt.DashLine),
            hoverPen=pg.mkPen(THRESHOLD_COLOUR, width=3),
            # A translucent backing keeps the label readable over the score curve.
            label="flag < {value:.2f}", labelOpts={"position": 0.02, "color": THRESHOLD_COLOUR,
                                                    "anchors": [(0, 1), (0, 1)],
                                                    "fill": (0, 0, 0, 220)})
        self.threshold_line.setZValue(20)
        self.threshold_line.sigDragged.connect(self._on_line_dragged)
        self.threshold_line.sigPositionChangeFinished.connect(self._end_drag)
        p.addItem(self.threshold_line)
        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=False)
        p.addItem(self.playhead)
        self.problem_items: dict[str, pg.PlotDataItem] = {}
        for kind in KINDS:
            item = pg.PlotDataItem(pen=pg.mkPen(PROBLEM_COLOURS[kind], width=5), connect="pairs")
            item.setZValue(15)
            p.addItem(item)
            self.problem_items[kind] = item
        self.problem_labels: list[pg.TextItem] = []
        self._drawn_problems: tuple = ()

        wave_brush = pg.mkColor(FLAG_COLOUR)
        wave_brush.setAlpha(45)
        self.wave_region_item = pg.PlotDataItem(pen=None, fillLevel=WAVE_Y[0], brush=wave_brush)
        self.wave_region_item.setZValue(-5)
        timeline.wave_plot.addItem(self.wave_region_item, ignoreBounds=True)
        self.apply_theme(timeline.theme)
        self._set_visible(False)

    def _insert_into_timeline(self) -> None:
        """Put the lane under the waveform: the rows below it move down by one."""
        ci = self.timeline.view.ci
        below = sorted(((r, c, item) for r, cols in ci.rows.items() for c, item in cols.items()
                        if r >= LANE_ROW), key=lambda t: -t[0])
        stretch = {r: ci.layout.rowStretchFactor(r) for r, _, _ in below}
        for _, _, item in below:
            ci.removeItem(item)
        for r, c, item in sorted(below, key=lambda t: t[0]):
            ci.addItem(item, row=r + 1, col=c)
            ci.layout.setRowStretchFactor(r + 1, stretch[r])
        ci.addItem(self.plot, row=LANE_ROW, col=0)
        ci.layout.setRowStretchFactor(LANE_ROW, 1)

    # --- binding -------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.events.quality.disconnect(self._on_quality)
        self.project = project
        if project is not None:
            project.events.quality.connect(self._on_quality)
        self._on_quality(None if project is None else project.quality)

    def _set_visible(self, visible: bool) -> None:
        self.plot.setVisible(visible)
        layout = self.timeline.view.ci.layout
        layout.setRowMaximumHeight(LANE_ROW, 1e6 if visible else 0)
        layout.setRowMinimumHeight(LANE_ROW, 60 if visible else 0)
        layout.setRowStretchFactor(LANE_ROW, 1 if visible else 0)
        self.wave_region_item.setVisible(visible)

    def _on_quality(self, quality: QualityTrack | None) -> None:
        self._draw_problems(() if quality is None else quality.problems)
        if quality is None:
            self.score_item.setData([], [])
            self.region_item.setData([], [])
            self.wave_region_item.setData([], [])
            self._set_visible(False)
            self._sync_spin(None)
            return
        self._set_visible(True)
        times, scores = quality.frame_times, np.asarray(quality.frame_scores, dtype=float)
        self.score_item.setData(times, scores)
        bottom = min(0.0, float(scores.min()) if scores.size else 0.0, quality.threshold)
        self.plot.setYRange(bottom, 1.0, padding=0.04)
        self.region_item.setFillLevel(bottom)
        self.region_item.setData(*region_outline(quality.regions, bottom, 1.0))
        self.wave_region_item.setData(*region_outline(quality.regions, *WAVE_Y))
        # setValue emits sigPositionChanged (the label follows), not sigDragged: no edit.
        self.threshold_line.setValue(quality.threshold)
        self._sync_spin(quality.threshold)

    def _draw_problems(self, problems: tuple) -> None:
        if problems == self._drawn_problems:
            return
        self._drawn_problems = problems
        for label in self.problem_labels:
            self.plot.removeItem(label)
        self.problem_labels = []
        for row, kind in enumerate(KINDS):
            of_kind = [p for p in problems if p.kind == kind]
            y = PROBLEM_TOP - row * PROBLEM_ROW_HEIGHT
            self.problem_items[kind].setData(np.asarray([(p.start, p.end) for p in of_kind], dtype=float).reshape(-1),
                                             np.full(2 * len(of_kind), y))
            if not of_kind:
                continue
            # One label per kind, at its first region: the regions of one kind share a row,
            # and a label each would pile up over short, close regions (a run of dropouts).
            more = f" ×{len(of_kind)}" if len(of_kind) > 1 else ""
            label = pg.TextItem(problem_label(of_kind[0]) + more, color=PROBLEM_COLOURS[kind],
                                anchor=(0, 0.5), fill=(0, 0, 0, 160))
            label.setToolTip("\n\n".join(problem_tooltip(p) for p in of_kind[:8])
                             + (f"\n… and {len(of_kind) - 8} more" if len(of_kind) > 8 else ""))
            label.setPos(of_kind[0].start, y)
            label.setZValue(25)
            self.plot.addItem(label)
            self.problem_labels.append(label)

    def drawn_problems(self) -> list[tuple[str, float, float]]:
        """(kind, start, end) of every bar the lane shows."""
        drawn = []
        for kind, item in self.problem_items.items():
            x = item.xData if item.xData is not None else []
            drawn += [(kind, float(x[i]), float(x[i + 1])) for i in range(0, len(x), 2)]
        return drawn

    def drawn_regions(self) -> list[list[float]]:
        return spans_from_outline(self.region_item.xData)

    def set_playhead(self, seconds: float) -> None:
        self.playhead.setValue(seconds)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for name in ("left", "top", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pg.mkPen(theme.plot_foreground))
            axis.setTextPen(pg.mkPen(theme.plot_foreground))
        self.playhead.setPen(pg.mkPen(theme.playhead, width=2))

    # --- editing: the threshold ------------------------------------------------------
    def set_threshold(self, value: float, merge_key: str = "quality-threshold") -> None:
        """Flag audio scoring below ``value``; consecutive calls with one ``merge_key``
        are one undo step."""
        project = self.project
        if project is None or project.quality is None:
            return
        value = float(value)
        if abs(value - project.quality.threshold) < 1e-12:
            return
        quality = dataclasses.replace(project.quality, threshold=value)
        self._push(commands.set_quality(project, quality, f"Flag quality below {value:.2f}",
                                        merge_key=merge_key))

    def _on_line_dragged(self, line) -> None:
        if self._merge_key is None:
            self._merge_key = f"quality-threshold:{next(self._drag_serial)}"
        self.set_threshold(line.value(), self._merge_key)

    def _end_drag(self, *_) -> None:
        self._merge_key = None

    def make_threshold_box(self) -> QDoubleSpinBox:
        """A spin box bound to the threshold (for the status bar or a toolbar)."""
        spin = QDoubleSpinBox()
        spin.setPrefix("flag < ")
        spin.setDecimals(2)
        spin.setRange(-1.0, 1.0)
        spin.setSingleStep(0.01)
        spin.setKeyboardTracking(False)
        spin.setToolTip("Audio whose quality score falls below this is flagged; keyframes "
                        "inferred over it are marked low-confidence")
        spin.valueChanged.connect(lambda v: self.set_threshold(v, "quality-threshold:box"))
        self._spin = spin
        self._sync_spin(None if self.project is None or self.project.quality is None
                        else self.project.quality.threshold)
        return spin

    def _sync_spin(self, threshold: float | None) -> None:
        spin = self._spin
        if spin is None:
            return
        spin.setEnabled(threshold is not None)
        if threshold is not None:
            spin.blockSignals(True)
            spin.setValue(threshold)
            spin.blockSignals(False)
