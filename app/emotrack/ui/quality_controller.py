"""Speech quality in the main window: the quality lane under the waveform, the score and
the threshold box in the status bar, Analysis ▸ Score Speech Quality and Enhance Audio
Before Analysis, and Tools ▸ Quality Report.

Scoring runs in a :class:`~emotrack.ui.worker.QualityWorker` thread; its result becomes
one undo step (``commands.set_quality``), and the status bar follows the project's
``quality`` event, so Undo, Redo and a threshold drag in the lane all show there too.
Without a quality model the lane stays hidden and the status bar says so.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMenu

from emotrack.core import commands
from emotrack.core.document import Project

from .quality_lane import QualityLane
from .worker import QualityWorker, enhancement_model_available, quality_model_available


class QualityController(QObject):
    def __init__(self, window, model_dir=None, auto: bool = True, enhancement_model_dir=None) -> None:
        super().__init__(window)
        self.window = window
        self.model_dir = str(model_dir) if model_dir else None  # None = bundled
        self.enhancement_model_dir = str(enhancement_model_dir) if enhancement_model_dir else None
        self.auto = auto  # score every audio file when it is opened
        self.worker: QualityWorker | None = None
        self.report = None  # the Tools ▸ Quality Report window, made when first opened
        self._project: Project | None = None

        self.lane = QualityLane(window.timeline, window.push)
        self.label = QLabel("")
        self.label.setToolTip("Speech quality (VQScore) of the clip and how much of it is flagged as degraded")
        self.threshold_box = self.lane.make_threshold_box()
        status_bar = window.statusBar()
        status_bar.insertPermanentWidget(0, self.label)
        status_bar.insertPermanentWidget(1, self.threshold_box)
        self._make_actions()
        self._show(None)

    def _make_actions(self) -> None:
        window = self.window
        window._action("score_quality", "Score Speech &Quality", lambda: self.start(), "Ctrl+Shift+Q",
                       "Score the clip's speech quality (VQScore) and flag degraded audio")
        window._action("quality_report", "&Quality Report…", self.open_report, None,
                       "Score every audio file in a folder: table, histogram, CSV export")
        enhance = window._action(
            "enhance", "&Enhance Audio Before Analysis", self._remember_enhance, None,
            "Run the speech enhancer over the clip before the emotion network (the waveform, "
            "playback and quality score keep the original audio)")
        enhance.setCheckable(True)
        available = enhancement_model_available(self.enhancement_model_dir)
        enhance.setEnabled(available)
        enhance.setChecked(available and window.settings.value("analysis/enhance", False, type=bool))
        if not available:
            enhance.setToolTip("No speech-enhancement model is installed")
        window.analysis_menu.addSeparator()
        window.analysis_menu.addActions([window.actions["score_quality"], enhance])
        tools = QMenu("&Tools", window)
        window.menuBar().insertMenu(window.help_menu.menuAction(), tools)
        tools.addAction(window.actions["quality_report"])
        window.tools_menu = tools

    def _remember_enhance(self, on: bool) -> None:
        self.window.settings.setValue("analysis/enhance", bool(on))

    @property
    def enhance(self) -> bool:
        """Whether analyses run the speech enhancer first (checked, and a model is there)."""
        action = self.window.actions["enhance"]
        return action.isChecked() and action.isEnabled()

    def available(self) -> bool:
        return quality_model_available(self.model_dir)

    def set_project(self, project: Project | None) -> None:
        if self._project is not None:
            self._project.events.quality.disconnect(self._show)
        self._project = project
        if project is not None:
            project.events.quality.connect(self._show)
        self.lane.set_project(project)
        self._show(None if project is None else project.quality)

    def _show(self, quality) -> None:
        if quality is not None:
            estimate = ("" if quality.estimated_pesq is None else
                        f"PESQ ≈ {quality.estimated_pesq:.2f} · STOI ≈ {quality.estimated_stoi:.2f} · ")
            self.label.setText(f"{estimate}VQScore {quality.vqscore:.3f} · {quality.flagged_seconds:.1f} s flagged")
        elif self.window.project is not None and not self.available():
            self.label.setText("Quality: no model")
        else:
            self.label.setText("")
        self.threshold_box.setVisible(quality is not None)

    def start(self) -> bool:
        """Score the clip's speech quality in a worker thread (one undo step when done)."""
        window = self.window
        if window.project is None or window.clip is None:
            window.statusBar().showMessage("Open an audio file first", 4000)
            return False
        if self.worker is not None:
            return False
        if not self.available():
            self._show(window.project.quality)
            window.statusBar().showMessage("No speech-quality model is installed; the quality lane is unavailable",
                                           8000)
            return False
        threshold = None if window.project.quality is None else window.project.quality.threshold
        worker = QualityWorker(window.clip, self.model_dir, threshold, window)
        worker.project = window.project
        worker.succeeded.connect(self._on_scored)
        worker.failed.connect(window.show_error)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.label.setText("Scoring quality…")
        self.update_actions()
        worker.start()
        return True

    def _on_scored(self, track) -> None:
        worker, project = self.worker, self.window.project
        if worker is None or project is None or worker.project is not project:
            return  # the document changed while scoring: the score is not this one's
        self.window.push(commands.set_quality(project, track))  # the status-bar label follows

    def _on_finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.wait()
            worker.deleteLater()
        project = self.window.project
        self._show(None if project is None else project.quality)
        self.update_actions()

    def update_actions(self) -> None:
        window = self.window
        window.actions["score_quality"].setEnabled(
            window.project is not None and window.clip is not None and self.worker is None)

    def open_report(self):
        """Non-modal batch report; double-clicking a row opens that file in the window."""
        from .quality_report import QualityReport

        if self.report is None:
            self.report = QualityReport(self.model_dir, self.window._last_dir("audio"), self.window)
            self.report.openRequested.connect(self.window.open_path)
        self.report.show()
        self.report.raise_()
        return self.report

    def shutdown(self) -> None:
        """The window is closing: let a scoring finish and stop the report's batch."""
        if self.worker is not None:
            self.worker.wait()
        if self.report is not None:
            self.report.close()  # stops its batch worker
