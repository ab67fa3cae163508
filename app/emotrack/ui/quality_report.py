"""Batch speech-quality report for a folder of lines.

Pick a folder; every audio file in it is decoded and scored by the quality model in a
worker thread (progress, cancel). Results fill a sortable table (file, estimated PESQ,
VQScore, flagged seconds, duration, diagnosed problems) and a histogram of the estimated
PESQ (of VQScore where the supervised estimator is not installed); the table exports as CSV. Double-click a
row to open that file in the main window (``openRequested``).

Scoring is :func:`emotrack.pipeline.score_quality` (the same path as the single clip);
nothing is computed here beyond the histogram's bin counts.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
    QProgressBar, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from emotrack.core.audio_diagnosis import problem_counts_text
from .theme import DARK
from .worker import CancellableWorker, cached_quality_estimator

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".aac", ".aiff", ".aif"}
COLUMNS = ("File", "Est. PESQ", "VQScore", "Flagged (s)", "Duration (s)", "Problems")
PESQ_COLUMN, VQSCORE_COLUMN, PROBLEMS_COLUMN = 1, 2, 5
HISTOGRAM_BINS = 20


def audio_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


class BatchQualityWorker(CancellableWorker):
    """Scores each file in turn; one ``scored``/``skipped`` signal per file."""

    progress = Signal(int, int)  # done, total
    # path, estimated PESQ (NaN without the estimator), vqscore, flagged seconds, duration,
    # problem kinds ("noise, clipping ×3")
    scored = Signal(str, float, float, float, float, str)
    skipped = Signal(str, str)  # path, reason
    failed = Signal(str)  # the model cannot be loaded

    def __init__(self, paths: list[Path], model_dir: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.paths = list(paths)
        self.model_dir = model_dir

    def run(self) -> None:  # worker thread
        from emotrack.errors import EmotrackError
        from emotrack.io.audio import load_audio
        from emotrack.pipeline import score_quality

        try:
            estimator = cached_quality_estimator(self.model_dir)
        except Exception as error:  # noqa: BLE001 - must reach the user
            self.failed.emit(f"Cannot load the quality model: {error}")
            return
        total = len(self.paths)
        for i, path in enumerate(self.paths):
            if self.is_cancelled:
                return
            try:
                clip = load_audio(path)
                track = score_quality(clip, estimator)
            except EmotrackError as error:
                self.skipped.emit(str(path), str(error))
            except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
                self.skipped.emit(str(path), f"{type(error).__name__}: {error}")
            else:
                pesq = float("nan") if track.estimated_pesq is None else track.estimated_pesq
                self.scored.emit(str(path), pesq, track.vqscore, track.flagged_seconds, clip.duration,
                                 problem_counts_text(track.problem_counts))
            self.progress.emit(i + 1, total)


def _number_item(value: float, decimals: int) -> QTableWidgetItem:
    item = QTableWidgetItem()
    if np.isnan(value):  # a figure not computed: an empty cell, not "nan"
        return item
    item.setData(Qt.DisplayRole, round(float(value), decimals))  # sorts numerically
    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return item


class QualityReport(QDialog):
    openRequested = Signal(str)

    def __init__(self, model_dir: str | None = None, start_dir: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quality Report")
        self.model_dir = model_dir
        self.worker: BatchQualityWorker | None = None
        self.skipped: list[tuple[str, str]] = []
        self.last_error = ""

        self.folder = QLineEdit(start_dir)
        self.folder.setPlaceholderText("Folder of audio files")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.score_button = QPushButton("Score")
        self.score_button.setDefault(True)
        self.score_button.clicked.connect(lambda: self.start(self.folder.text()))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._export_dialog)
        self.export_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m files")
        self.status = QLabel("Choose a folder of lines and press Score.")

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.setSortingEnabled(True)
        self.table.cellDoubleClicked.connect(self._on_double_click)

        self.histogram = pg.PlotWidget()
        self.histogram.setMenuEnabled(False)
        self.histogram.hideButtons()
        self.histogram.setMouseEnabled(x=False, y=False)
        self.histogram.setLabel("bottom", "VQScore")
        self.histogram.setLabel("left", "files")
        self.histogram.getAxis("bottom").enableAutoSIPrefix(False)
        self.histogram.setBackground(DARK.plot_background)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.01, brush="#3fb6a8", pen="#1f5e57")
        self.histogram.addItem(self.bars)

        top = QHBoxLayout()
        top.addWidget(QLabel("Folder"))
        top.addWidget(self.folder, 1)
        top.addWidget(browse)
        top.addWidget(self.score_button)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.histogram)
        splitter.setSizes([360, 200])
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.resize(720, 640)

    # --- running -------------------------------------------------------------------
    def start(self, folder: str | Path) -> bool:
        if self.worker is not None:
            return False
        folder = Path(folder)
        if not folder.is_dir():
            self._error(f"{folder} is not a folder")
            return False
        from .worker import quality_model_available

        if not quality_model_available(self.model_dir):
            self._error("No speech-quality model is installed; the report needs one")
            return False
        paths = audio_files(folder)
        if not paths:
            self._error(f"No audio files in {folder}")
            return False
        self.folder.setText(str(folder))
        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        self.skipped = []
        self._update_histogram()
        self.progress.setRange(0, len(paths))
        self.progress.setValue(0)
        worker = BatchQualityWorker(paths, self.model_dir, self)
        worker.progress.connect(self._on_progress)
        worker.scored.connect(self._on_scored)
        worker.skipped.connect(self._on_skipped)
        worker.failed.connect(self._error)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.score_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.export_button.setEnabled(False)
        self.status.setText(f"Scoring {len(paths)} files…")
        worker.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_scored(self, path: str, pesq: float, vqscore: float, flagged: float, duration: float,
                   problems: str = "") -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        name = QTableWidgetItem(Path(path).name)
        name.setData(Qt.UserRole, path)
        name.setToolTip(path)
        self.table.setItem(row, 0, name)
        self.table.setItem(row, PESQ_COLUMN, _number_item(pesq, 2))
        self.table.setItem(row, VQSCORE_COLUMN, _number_item(vqscore, 4))
        self.table.setItem(row, 3, _number_item(flagged, 2))
        self.table.setItem(row, 4, _number_item(duration, 2))
        self.table.setItem(row, PROBLEMS_COLUMN, QTableWidgetItem(problems))
        self._update_histogram()

    def _on_skipped(self, path: str, reason: str) -> None:
        self.skipped.append((path, reason))

    def _on_finished(self) -> None:
        worker, self.worker = self.worker, None
        cancelled = worker is not None and worker.is_cancelled
        if worker is not None:
            worker.wait()
            worker.deleteLater()
        self.table.setSortingEnabled(True)
        self.table.sortItems(self._score_column(self.rows()), Qt.AscendingOrder)  # worst lines first
        self.score_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.export_button.setEnabled(self.table.rowCount() > 0)
        if self.last_error and self.table.rowCount() == 0:
            return
        text = f"{self.table.rowCount()} files scored"
        if self.skipped:
            text += f"; {len(self.skipped)} skipped ({Path(self.skipped[0][0]).name}: {self.skipped[0][1]})"
        if cancelled:
            text += " (cancelled)"
        self.status.setText(text)

    def _error(self, message: str) -> None:
        self.last_error = message
        self.status.setText(message)

    # --- results -------------------------------------------------------------------
    def rows(self) -> list[tuple[str, float, float, float, float]]:
        """The table as shown (current sort order): path, estimated PESQ (NaN where not
        computed), VQScore, flagged s, duration s."""
        def number(r: int, c: int) -> float:
            value = self.table.item(r, c).data(Qt.DisplayRole)
            return float("nan") if value is None else float(value)

        return [(self.table.item(r, 0).data(Qt.UserRole), *(number(r, c) for c in (1, 2, 3, 4)))
                for r in range(self.table.rowCount())]

    @staticmethod
    def _score_column(rows: list[tuple[str, float, float, float, float]]) -> int:
        """The figure lines are ranked by: estimated PESQ when every line has one."""
        return PESQ_COLUMN if rows and not any(np.isnan(row[1]) for row in rows) else VQSCORE_COLUMN

    def _update_histogram(self) -> None:
        rows = self.rows()
        if not rows:
            self.bars.setOpts(x=[], height=[], width=0.01)
            return
        column = self._score_column(rows)
        scores = np.array([row[column] for row in rows], dtype=float)
        self.histogram.setLabel("bottom", COLUMNS[column])
        lo, hi = float(scores.min()), float(scores.max())
        if hi - lo < 1e-6:
            lo, hi = lo - 0.005, hi + 0.005
        counts, edges = np.histogram(scores, bins=HISTOGRAM_BINS, range=(lo, hi))
        width = edges[1] - edges[0]
        self.bars.setOpts(x=(edges[:-1] + width / 2), height=counts, width=width * 0.9)
        self.histogram.setXRange(lo - width, hi + width, padding=0)
        top = max(int(counts.max()), 1)
        step = max(1, int(np.ceil(top / 5)))
        self.histogram.getAxis("left").setTickSpacing(step, step)  # whole files
        self.histogram.setYRange(0, top, padding=0.05)

    def export_csv(self, path: str | Path) -> bool:
        from emotrack.core.atomic import atomic_text_file
        from emotrack.errors import OutputError

        try:
            with atomic_text_file(path) as handle:
                writer = csv.writer(handle)
                writer.writerow(["file", "estimated_pesq", "vqscore", "flagged_seconds", "duration_seconds",
                                 "problems"])
                for r, (file, pesq, score, flagged, duration) in enumerate(self.rows()):
                    writer.writerow([file, "" if np.isnan(pesq) else f"{pesq:.2f}", f"{score:.4f}",
                                     f"{flagged:.2f}", f"{duration:.2f}", self.table.item(r, PROBLEMS_COLUMN).text()])
        except OutputError as error:  # the atomic writer turns OSError into one sentence
            self._error(str(error)[0].upper() + str(error)[1:])
            return False
        self.status.setText(f"Exported {Path(path).name}")
        return True

    def _export_dialog(self) -> None:
        start = str(Path(self.folder.text() or ".") / "quality_report.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export report", start, "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of lines", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.start(folder)

    def _on_double_click(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.openRequested.emit(item.data(Qt.UserRole))

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()
        super().closeEvent(event)
