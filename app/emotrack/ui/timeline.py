"""The audio timeline: waveform, emotion curves, keyframe markers and playhead.

Items are created once; model events update them with ``setData`` (never rebuilt). Two
stacked plots share the time axis: the waveform on top (frames at project fps on its top
axis) and the emotion curves below (seconds), with a keyframe lane above the curves.

Mouse, in the curves plot: click a marker to select it (shift-click adds/removes),
left-drag on a marker moves the selected keys in time (snapped to frames, one undo step
per drag), left-drag on empty space selects with a rubber band, click on empty space
moves the playhead, double-click adds a key. Wheel zooms, middle-drag pans.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsView,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from emotrack.core import commands
from emotrack.core.commands import Command
from emotrack.core.document import Project
from emotrack.core.keyframes import track_arrays

from .selection import Selection
from .theme import DARK, Theme, label_colour

KEY_LANE_Y = 1.09  # where keyframe markers sit, above the 0..1 curves
Y_RANGE = (-0.03, 1.16)
HIT_PIXELS = 7


def format_time(seconds: float) -> str:
    minutes, sec = divmod(max(seconds, 0.0), 60.0)
    return f"{int(minutes):02d}:{sec:05.2f}"


class TimeAxis(pg.AxisItem):
    """Seconds (``mm:ss`` once ticks are a minute apart) or frames at ``fps``."""

    def __init__(self, orientation: str, frames: bool = False) -> None:
        super().__init__(orientation)
        self.frames = frames
        self.fps = 30

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        if self.frames:
            return [f"{int(round(v * self.fps))}" for v in values]
        if spacing >= 1 and len(values) and max(values) >= 60:
            return [f"{int(v // 60)}:{int(v % 60):02d}" for v in values]
        decimals = 0 if spacing >= 1 else (1 if spacing >= 0.1 else 2)
        return [f"{v:.{decimals}f}s" for v in values]


class WaveformEnvelope:
    """Min/max pyramid of a mono signal, so any zoom level draws ≤ ~2 points per pixel.

    Level ``b`` holds the min and max of every block of ``b`` samples. ``points(t0, t1,
    width)`` returns x/y for the visible span from the coarsest level that still has at
    least one block per pixel (raw samples when zoomed in far enough).
    """

    BLOCKS = (1, 16, 256, 4096, 65536)

    def __init__(self, samples: np.ndarray, sample_rate: int) -> None:
        self.samples = np.asarray(samples, dtype=np.float32)
        self.rate = sample_rate
        self.levels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        lo = hi = self.samples
        previous = 1
        for block in self.BLOCKS[1:]:
            factor = block // previous
            n = len(lo) // factor
            if n < 2:
                break
            lo = lo[: n * factor].reshape(n, factor).min(axis=1)
            hi = hi[: n * factor].reshape(n, factor).max(axis=1)
            self.levels[block] = (lo, hi)
            previous = block

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    def points(self, t0: float, t1: float, width_px: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.samples)
        s0 = max(int(t0 * self.rate), 0)
        s1 = min(int(np.ceil(t1 * self.rate)) + 1, n)
        if s1 <= s0:
            return np.zeros(0), np.zeros(0)
        width_px = max(width_px, 100)
        span = s1 - s0
        # The coarsest level that still has a block per pixel (1..16 per pixel); the
        # item's own peak downsampling thins that to ~2 points per pixel.
        block = 1
        for b in self.BLOCKS[1:]:
            if b in self.levels and span / b >= width_px:
                block = b
        if block == 1:
            y = self.samples[s0:s1]
            x = np.arange(s0, s1) / self.rate
            return x, y
        lo, hi = self.levels[block]
        b0 = max(s0 // block - 1, 0)
        b1 = min(s1 // block + 2, len(lo))
        y = np.empty(2 * (b1 - b0), dtype=np.float32)
        y[0::2] = lo[b0:b1]
        y[1::2] = hi[b0:b1]
        x = np.repeat((np.arange(b0, b1) + 0.5) * (block / self.rate), 2)
        return x, y


class _Markers(pg.ScatterPlotItem):
    """Keyframe markers; clicks pass through to the view box, which does selection."""

    def mouseClickEvent(self, ev):  # noqa: N802
        ev.ignore()


MARKER_STYLES = ("key", "key_low", "locked", "locked_low", "selected")
LOW_CONFIDENCE = "#e5484d"  # outline of keys inferred over audio flagged as bad


def marker_style(key, selected: set[int] | frozenset[int]) -> str:
    """Selected wins; otherwise fill says locked or not, outline says low confidence."""
    if key.id in selected:
        return "selected"
    style = "locked" if key.locked else "key"
    return style + "_low" if key.low_confidence else style


class _CurvesViewBox(pg.ViewBox):
    """Left-button interaction goes to the timeline; wheel and middle-drag stay pyqtgraph's."""

    def __init__(self, timeline: "Timeline") -> None:
        super().__init__(enableMenu=False)
        self._timeline = timeline
        self.setMouseEnabled(x=True, y=False)

    def mouseClickEvent(self, ev):  # noqa: N802
        if ev.button() != Qt.LeftButton:
            return super().mouseClickEvent(ev)
        ev.accept()
        pos = self.mapSceneToView(ev.scenePos())
        if ev.double():
            self._timeline._on_double_click(pos.x(), pos.y())
        else:
            self._timeline._on_click(pos.x(), pos.y(), ev.modifiers())

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802
        if ev.button() != Qt.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        start = self.mapSceneToView(ev.buttonDownScenePos())
        pos = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            self._timeline._drag_start(start.x(), start.y(), ev.modifiers())
        self._timeline._drag_move(start.x(), start.y(), pos.x(), pos.y())
        if ev.isFinish():
            self._timeline._drag_finish()


class _WaveViewBox(pg.ViewBox):
    def __init__(self, timeline: "Timeline") -> None:
        super().__init__(enableMenu=False)
        self._timeline = timeline
        self.setMouseEnabled(x=True, y=False)

    def mouseClickEvent(self, ev):  # noqa: N802
        if ev.button() != Qt.LeftButton:
            return super().mouseClickEvent(ev)
        ev.accept()
        self._timeline.seekRequested.emit(max(self.mapSceneToView(ev.scenePos()).x(), 0.0))

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802
        if ev.button() != Qt.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()  # scrub
        self._timeline.seekRequested.emit(max(self.mapSceneToView(ev.scenePos()).x(), 0.0))


class Timeline(QWidget):
    """The timeline view of one project. ``push`` applies and records an undoable command."""

    seekRequested = Signal(float)

    _drag_serial = itertools.count()

    def __init__(self, selection: Selection, push: Callable[[Command], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.selection = selection
        self._push = push
        self.project: Project | None = None
        self.envelope: WaveformEnvelope | None = None
        self.theme: Theme = DARK
        self.playhead_time = 0.0
        self._drag: dict | None = None
        self._marker_signatures: dict[str, tuple] = {}  # per style: (id, time) drawn
        self.stacked = False  # stacked-area view: emotions as bands that sum to 1
        self.stack_tops: list[pg.PlotCurveItem] = []
        self.stack_fills: list[pg.FillBetweenItem] = []

        self.header = QLabel(" ")
        self.header.setObjectName("timelineReadout")
        self.header.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.view = pg.GraphicsLayoutWidget()
        # Repaint one rectangle around all changes: with Qt's default (a region of many
        # small rects) the raster engine clips every antialiased curve to that region,
        # which made a keyframe drag step ~33 ms against ~15 ms with a plain rect.
        self.view.setViewportUpdateMode(QGraphicsView.BoundingRectViewportUpdate)
        self.view.ci.layout.setSpacing(0)
        self.view.ci.setContentsMargins(4, 4, 8, 4)

        self.frame_axis = TimeAxis("top", frames=True)
        self.wave_plot = self.view.addPlot(
            row=0, col=0, viewBox=_WaveViewBox(self), axisItems={"top": self.frame_axis})
        self.view.nextRow()
        self.seconds_axis = TimeAxis("bottom")
        self.curves_vb = _CurvesViewBox(self)
        self.curves_plot = self.view.addPlot(
            row=1, col=0, viewBox=self.curves_vb, axisItems={"bottom": self.seconds_axis})
        self.view.ci.layout.setRowStretchFactor(0, 1)
        self.view.ci.layout.setRowStretchFactor(1, 3)

        wp = self.wave_plot
        wp.showAxis("top")
        wp.hideAxis("bottom")
        wp.setLabel("left", "wave")
        wp.getAxis("left").setWidth(48)
        # No ±1 labels: they would collide with the lane below at the plots' shared edge.
        wp.getAxis("left").setTicks([[(-0.5, "-.5"), (0, "0"), (0.5, ".5")], []])
        wp.setYRange(-1.0, 1.0, padding=0.02)
        wp.setMenuEnabled(False)
        wp.hideButtons()
        self.wave_item = pg.PlotDataItem(pen=pg.mkPen(self.theme.waveform, width=1))
        self.wave_item.setDownsampling(auto=True, method="peak")
        self.wave_item.setClipToView(True)
        wp.addItem(self.wave_item)

        cp = self.curves_plot
        cp.setXLink(wp)
        cp.setLabel("left", "emotion")
        cp.getAxis("left").setWidth(48)
        cp.setYRange(*Y_RANGE, padding=0)
        cp.showGrid(x=True, y=True, alpha=self.theme.grid_alpha)
        cp.hideButtons()
        cp.getAxis("left").setTicks([[(0, "0"), (0.5, ".5"), (1, "1")], []])
        # The legend sits in its own row under the curves, so it never hides a key.
        self.legend = pg.LegendItem(labelTextSize="9pt", colCount=8, horSpacing=18)
        self.view.addItem(self.legend, row=2, col=0)
        self.curve_items: list[pg.PlotCurveItem] = []

        # One scatter per marker style: restyling 600 spots one by one cost ~6 ms per
        # drag step, while a uniformly styled scatter takes new positions almost free.
        self.marker_items: dict[str, _Markers] = {}
        for z, style in enumerate(MARKER_STYLES):
            item = _Markers(size=11, symbol="d", pxMode=True)
            item.setZValue(20 + z)
            cp.addItem(item)
            self.marker_items[style] = item
        self.lane_line = pg.InfiniteLine(pos=KEY_LANE_Y - 0.045, angle=0, movable=False,
                                         pen=pg.mkPen(self.theme.plot_foreground, width=1,
                                                      style=Qt.DotLine))
        cp.addItem(self.lane_line)

        self.rubber_band = QGraphicsRectItem()
        self.rubber_band.setZValue(30)
        self.rubber_band.hide()
        self.curves_vb.addItem(self.rubber_band, ignoreBounds=True)

        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=True,
                                        pen=pg.mkPen(self.theme.playhead, width=2),
                                        hoverPen=pg.mkPen(self.theme.playhead, width=4))
        self.playhead.setZValue(40)
        self.playhead.sigDragged.connect(lambda line: self.seekRequested.emit(max(line.value(), 0.0)))
        cp.addItem(self.playhead)
        self.wave_playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=False,
                                             pen=pg.mkPen(self.theme.playhead, width=2))
        wp.addItem(self.wave_playhead)

        # Axes (with their tick labels and grid) only change with the view range, but
        # replaying their QPicture on every repaint cost ~12 ms of a ~20 ms slider-step
        # redraw; a pixmap cache makes it a blit and is invalidated when the axis updates.
        for plot in (wp, cp):
            for name in ("left", "top", "bottom"):
                plot.getAxis(name).setCacheMode(QGraphicsItem.DeviceCoordinateCache)

        wp.getViewBox().sigXRangeChanged.connect(self._update_waveform)
        wp.getViewBox().sigResized.connect(self._update_waveform)
        selection.changed.connect(self._update_markers)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        self.apply_theme(self.theme)

    # --- binding -------------------------------------------------------------------
    def set_project(self, project: Project | None, samples: np.ndarray | None = None,
                    sample_rate: int = 16_000, envelope: WaveformEnvelope | None = None) -> None:
        """Show ``project``; ``envelope`` may be prebuilt off the GUI thread."""
        if self.project is not None:
            self.project.events.keyframes.disconnect(self._on_keyframes)
            self.project.events.fps.disconnect(self._on_fps)
        self.project = project
        self.selection.clear()
        if envelope is None and samples is not None:
            envelope = WaveformEnvelope(samples, sample_rate)
        self.envelope = envelope
        if project is None:
            for item in self.curve_items:
                item.setData([], [])
            for marker in self.marker_items.values():
                marker.setData([], [])
            self._marker_signatures.clear()
            self.wave_item.setData([], [])
            return
        project.events.keyframes.connect(self._on_keyframes)
        project.events.fps.connect(self._on_fps)
        self._ensure_curve_items(project.labels)
        self._on_fps(project.fps)
        self.zoom_to_fit()
        self._update_waveform()
        self._on_keyframes(project.keyframes)
        self.set_playhead(0.0)

    def _ensure_curve_items(self, labels: tuple[str, ...]) -> None:
        if [item.name() for item in self.curve_items] == list(labels):
            return
        for item in self.curve_items:
            self.curves_plot.removeItem(item)
            self.legend.removeItem(item)
        self.curve_items = []
        for i, name in enumerate(labels):
            # 1 px antialiased: wider antialiased pens cost ~100 ms per curve in Qt's
            # raster engine (measured: 680 ms per repaint at 1.5 px vs 13 ms at 1 px).
            # A bare PlotCurveItem: PlotDataItem's bookkeeping (display dataset, bounds,
            # downsampling) cost ~0.3 ms per curve per edit for 600-point curves.
            item = pg.PlotCurveItem(name=name, pen=pg.mkPen(label_colour(name, i), width=1),
                                    antialias=True)
            item.setZValue(10)
            self.curves_plot.addItem(item)
            self.legend.addItem(item, name.capitalize())
            self.curve_items.append(item)
        for fill in self.stack_fills:
            self.curves_plot.removeItem(fill)
        for top in self.stack_tops:
            self.curves_plot.removeItem(top)
        self._stack_base = pg.PlotCurveItem()
        self.stack_tops, self.stack_fills = [], []
        lower = self._stack_base
        for i, name in enumerate(labels):
            colour = pg.mkColor(label_colour(name, i))
            top = pg.PlotCurveItem(pen=pg.mkPen(colour.darker(140), width=1))
            colour.setAlpha(170)
            fill = pg.FillBetweenItem(lower, top, brush=pg.mkBrush(colour))
            fill.setZValue(5)
            for item in (top, fill):
                item.setVisible(self.stacked)
                self.curves_plot.addItem(item)
            self.stack_tops.append(top)
            self.stack_fills.append(fill)
            lower = top

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.view.setBackground(theme.plot_background)
        for plot in (self.wave_plot, self.curves_plot):
            for name in ("left", "top", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(theme.plot_foreground))
                axis.setTextPen(pg.mkPen(theme.plot_foreground))
        self.curves_plot.showGrid(x=True, y=True, alpha=theme.grid_alpha)
        self.wave_item.setPen(pg.mkPen(theme.waveform, width=1))
        for line in (self.playhead, self.wave_playhead):
            line.setPen(pg.mkPen(theme.playhead, width=2))
        self.rubber_band.setPen(QPen(QColor(theme.accent), 0))
        fill = QColor(theme.accent)
        fill.setAlpha(50)
        self.rubber_band.setBrush(fill)
        self.header.setStyleSheet(
            f"QLabel#timelineReadout {{ background: {theme.plot_background}; color: {theme.text};"
            f" padding: 3px 8px; font-family: monospace; }}")
        key, locked, selected = (pg.mkBrush(theme.key), pg.mkBrush(theme.key_locked),
                                 pg.mkBrush(theme.accent))
        normal, low = pg.mkPen(theme.plot_background, width=1), pg.mkPen(LOW_CONFIDENCE, width=1.5)
        styles = {"key": (key, normal), "key_low": (key, low), "locked": (locked, normal),
                  "locked_low": (locked, low),
                  "selected": (selected, pg.mkPen(theme.key_selected, width=2))}
        for style, (brush, pen) in styles.items():
            self.marker_items[style].setBrush(brush)
            self.marker_items[style].setPen(pen)
        self._update_markers()

    # --- drawing -------------------------------------------------------------------
    def _on_fps(self, fps: int) -> None:
        self.frame_axis.fps = fps
        self.frame_axis.picture = None
        self.frame_axis.update()
        self._update_header()

    def _on_keyframes(self, track) -> None:
        project = self.project
        if project is None:
            return
        times, values = track_arrays(track, len(project.labels))
        if len(times):
            # Curves hold before the first and after the last key (see sample_curves).
            end = max(project.duration, times[-1])
            x = np.concatenate(([0.0], times, [end]))
            y = np.vstack((values[:1], values, values[-1:]))
        else:
            x, y = np.zeros(0), np.zeros((0, len(project.labels)))
        for j, item in enumerate(self.curve_items):
            item.setData(x, y[:, j], skipFiniteCheck=True)  # keyframe values are validated
        if self.stacked:
            self._update_stack(x, y)
        self.selection.keep_only(k.id for k in track)
        self._update_markers()
        self._update_header()

    def _update_stack(self, x: np.ndarray, y: np.ndarray) -> None:
        tops = np.cumsum(y, axis=1)
        self._stack_base.setData(x, np.zeros(len(x)))
        for j, top in enumerate(self.stack_tops):
            top.setData(x, tops[:, j])

    def set_stacked(self, stacked: bool) -> None:
        """Show emotions as stacked bands (the mix at a glance) or as separate curves."""
        self.stacked = stacked
        for item in self.curve_items:
            item.setVisible(not stacked)
        for item in self.stack_tops + self.stack_fills:
            item.setVisible(stacked)
        if stacked and self.curve_items and self.curve_items[0].xData is not None:
            x = self.curve_items[0].xData
            self._update_stack(x, np.stack([item.yData for item in self.curve_items], axis=1))

    def _update_markers(self) -> None:
        project = self.project
        if project is None:
            return
        selected = self.selection.ids
        groups: dict[str, list] = {style: [] for style in MARKER_STYLES}
        for key in project.keyframes:
            groups[marker_style(key, selected)].append(key)
        for style, keys in groups.items():
            # Only rebuild scatters whose keys moved or changed style: heuristic edits
            # touch none, a drag only the selected keys' scatter.
            signature = tuple((k.id, k.time) for k in keys)
            if self._marker_signatures.get(style) == signature:
                continue
            self._marker_signatures[style] = signature
            self.marker_items[style].setData(
                x=np.fromiter((k.time for k in keys), float, len(keys)),
                y=np.full(len(keys), KEY_LANE_Y),
                data=np.fromiter((k.id for k in keys), int, len(keys)))

    def drawn_markers(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per marker style, the (times, keyframe ids) drawn: what a test or a tool can check."""
        return {style: (item.data["x"].copy(), item.data["data"].astype(int))
                for style, item in self.marker_items.items()}

    def _update_waveform(self, *_) -> None:
        if self.envelope is None:
            return
        (t0, t1) = self.wave_plot.getViewBox().viewRange()[0]
        width = int(self.wave_plot.getViewBox().width()) or 1000
        x, y = self.envelope.points(t0, t1, width)
        self.wave_item.setData(x, y)

    def _update_header(self) -> None:
        project = self.project
        if project is None:
            self.header.setText(" ")
            return
        t = self.playhead_time
        self.header.setText(
            f"{format_time(t)}   frame {int(round(t * project.fps))} @ {project.fps} fps   │   "
            f"{project.readout_at(t)}")

    def set_playhead(self, time: float) -> None:
        self.playhead_time = float(time)
        self.playhead.blockSignals(True)
        self.playhead.setValue(self.playhead_time)
        self.playhead.blockSignals(False)
        self.wave_playhead.setValue(self.playhead_time)
        self._update_header()

    def ensure_visible(self, time: float) -> None:
        """Page the view forward/back so ``time`` is on screen (follow playback)."""
        t0, t1 = self.wave_plot.getViewBox().viewRange()[0]
        if t0 <= time <= t1:
            return
        width = t1 - t0
        self.wave_plot.setXRange(time - 0.05 * width, time + 0.95 * width, padding=0)

    def zoom_to_fit(self) -> None:
        duration = self.project.duration if self.project else 0.0
        self.wave_plot.setXRange(0.0, max(duration, 1.0), padding=0.01)
        self.curves_plot.setYRange(*Y_RANGE, padding=0)

    # --- editing (also used by menu actions) ---------------------------------------
    def key_at(self, x: float, y: float) -> int | None:
        """Id of the keyframe marker under view point (x, y), if any."""
        project = self.project
        if project is None or not project.keyframes:
            return None
        sx, sy = self.curves_vb.viewPixelSize()
        if abs(y - KEY_LANE_Y) > HIT_PIXELS * 1.5 * sy:
            return None
        times = np.fromiter((k.time for k in project.keyframes), float)
        i = int(np.argmin(np.abs(times - x)))
        if abs(times[i] - x) <= HIT_PIXELS * sx:
            return project.keyframes[i].id
        return None

    def add_key_at(self, time: float) -> None:
        if self.project is None or self.project.audio is None:
            return
        command, key_id = commands.add_keyframe(self.project, time, self.project.fps)
        self._push(command)
        self.selection.set([key_id])

    def delete_selected(self) -> None:
        if self.project is None or not self.selection.ids:
            return
        self._push(commands.delete_keyframes(self.project, self.selection.ids))

    def toggle_lock_selected(self) -> None:
        project = self.project
        if project is None or not self.selection.ids:
            return
        keys = [k for k in project.keyframes if k.id in self.selection.ids]
        lock = not all(k.locked for k in keys)
        self._push(commands.set_locked(project, self.selection.ids, lock))

    def select_all(self) -> None:
        if self.project is not None:
            self.selection.set(k.id for k in self.project.keyframes)

    # --- mouse ---------------------------------------------------------------------
    def _on_click(self, x: float, y: float, modifiers) -> None:
        hit = self.key_at(x, y)
        shift = bool(modifiers & Qt.ShiftModifier)
        if hit is not None:
            if shift:
                self.selection.toggle(hit)
            else:
                self.selection.set([hit])
            return
        if not shift:
            self.selection.clear()
        self.seekRequested.emit(max(x, 0.0))

    def _on_double_click(self, x: float, y: float) -> None:
        if self.key_at(x, y) is None:
            self.add_key_at(max(x, 0.0))

    def _drag_start(self, x: float, y: float, modifiers) -> None:
        project = self.project
        hit = self.key_at(x, y)
        if project is None:
            self._drag = None
        elif hit is not None:
            if hit not in self.selection.ids:
                if modifiers & Qt.ShiftModifier:
                    self.selection.set(self.selection.ids | {hit})
                else:
                    self.selection.set([hit])
            self._drag = {"mode": "move", "anchor": hit,
                          "origin": project.key_by_id(hit).time,
                          "merge_key": f"drag-keys:{next(self._drag_serial)}"}
        else:
            self._drag = {"mode": "band", "base": set(self.selection.ids)
                          if modifiers & Qt.ShiftModifier else set()}

    def _drag_move(self, x0: float, y0: float, x: float, y: float) -> None:
        drag, project = self._drag, self.project
        if drag is None or project is None:
            return
        if drag["mode"] == "move":
            self.drag_selected_to(drag, drag["origin"] + (x - x0))
        else:
            rect = QRectF(min(x0, x), min(y0, y), abs(x - x0), abs(y - y0))
            self.rubber_band.setRect(rect)
            self.rubber_band.show()
            inside = {k.id for k in project.keyframes
                      if rect.left() <= k.time <= rect.right()
                      and rect.top() <= KEY_LANE_Y <= rect.bottom()}
            self.selection.set(drag["base"] | inside)

    def drag_selected_to(self, drag: dict, anchor_time: float) -> None:
        """Move the selection so the anchor key lands at ``anchor_time`` (snapped)."""
        project = self.project
        fps = project.fps
        target = round(max(anchor_time, 0.0) * fps) / fps
        current = project.key_by_id(drag["anchor"]).time
        if abs(target - current) < 1e-9:
            return
        self._push(commands.move_keyframes(project, self.selection.ids, target - current,
                                           fps, merge_key=drag["merge_key"]))

    def _drag_finish(self) -> None:
        self.rubber_band.hide()
        self._drag = None
