"""Analysis ▸ Learn from My Corrections… and Revert to Previous Model.

Learning runs :func:`emotrack.ml.emotion.corrections.learn_from_corrections` on the
open project (its locked keys, its clip in memory: no need to save first) in a worker
thread, with a progress dialog whose Cancel stops it between steps. The new model goes
to ``models_dir/personal-<timestamp>``; the clip is then analysed with it, and the
project switches to it in that one undo step ("Analyse with personal model"), so Undo
brings back the previous model and keys. Revert analyses again with the model named in
the personal model's ``corrections.json``, as another undo step. Revert is enabled
whenever the project's model is a learned one, including after reopening the project.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Signal

from emotrack.core.corrections import corrected_keys, read_learning_report

from .job import JobController
from .worker import CancellableWorker

PROGRESS_STEPS = 100
FEATURES_SHARE = 30  # of the progress bar: the encoder pass; the rest is training


def default_models_dir() -> Path:
    """Where personal models are written: the user's application data folder."""
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or Path.home()) / "models"


class CorrectionsWorker(CancellableWorker):
    """Learns from one project's corrections off the GUI thread."""

    progress = Signal(str, int, int)  # stage, done, total
    succeeded = Signal(object)  # CorrectionsReport
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, project, samples, base_model: str | None, out: Path, parent=None) -> None:
        super().__init__(parent)
        self.project, self.samples = project, samples
        self.base_model, self.out = base_model, out
        self.options = None  # LearningOptions; None = the defaults

    def run(self) -> None:  # worker thread
        from emotrack.ml.emotion.corrections import (
            CorrectionSource, LearningCancelled, learn_from_corrections,
        )

        name = Path(self.project.path).name if self.project.path else "this project"

        def learn() -> tuple:
            report = learn_from_corrections(
                [CorrectionSource(name, self.project, self.samples)], self.base_model, self.out,
                self.options, progress=lambda stage, done, total: self.progress.emit(stage, done, total),
                is_cancelled=lambda: self.is_cancelled)
            return (report,)

        self.deliver(learn, LearningCancelled, "Cannot learn from the corrections: ", "Learning failed")


class CorrectionsController(JobController):
    """The two actions, the worker and its progress dialog, for one main window."""

    title = "Learn from My Corrections"

    def __init__(self, window) -> None:
        super().__init__(window)
        self.models_dir = default_models_dir()  # tests point this at a temporary folder
        self.last_report = None
        self._switch_to: str | None = None  # the learned model, once the worker is done
        a = window._action
        a("learn_corrections", "&Learn from My Corrections…", self.learn, None,
          "Fine-tune the emotion model on the keys you edited or locked, then analyse again with it")
        a("revert_model", "&Revert to Previous Model", self.revert, None,
          "Analyse again with the model the current one was learned from")
        window.analysis_menu.addSeparator()
        window.analysis_menu.addActions([window.actions["learn_corrections"], window.actions["revert_model"]])

    # --- state --------------------------------------------------------------------------
    def current_model(self) -> str | None:
        """The model the project is analysed with (None = bundled default)."""
        window = self.window
        return (window.project.model if window.project is not None else None) or window.model_dir

    def previous_model(self) -> tuple[bool, str | None]:
        """(whether the project's model was learned from corrections, the model it came from)."""
        project = self.window.project
        report = read_learning_report(project.model) if project is not None else None
        return (True, report.get("base_model")) if report else (False, None)

    def update_actions(self) -> None:
        window, idle = self.window, self.window_idle
        window.actions["learn_corrections"].setEnabled(idle)
        window.actions["revert_model"].setEnabled(idle and self.previous_model()[0])

    # --- learn --------------------------------------------------------------------------
    def learn(self) -> bool:
        """Start learning from the open project's locked keys."""
        window = self.window
        if not self.window_idle:
            return False
        if not corrected_keys(window.project):
            window.show_error("No corrected keys yet: edit or lock the keys whose emotion is right, "
                              "then learn from them.")
            return False
        out = self.models_dir / time.strftime("personal-%Y%m%d-%H%M%S")
        while out.exists():
            out = out.with_name(out.name + "-1")
        worker = CorrectionsWorker(window.project, window.clip.samples, self.current_model(), out, self)
        worker.progress.connect(self._on_progress)
        worker.succeeded.connect(self._on_learned)
        worker.failed.connect(window.show_error)
        worker.cancelled.connect(lambda: window.statusBar().showMessage("Learning cancelled", 4000))
        window.statusBar().showMessage("Learning from your corrections…")
        self.start_job(worker, "Learning from your corrections…", PROGRESS_STEPS)
        return True

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        if self.dialog is None:
            return
        share = done / max(total, 1)
        if stage == "features":
            value, text = share * FEATURES_SHARE, "Listening to the corrected keys…"
        else:
            value = FEATURES_SHARE + share * (PROGRESS_STEPS - FEATURES_SHARE)
            text = f"Learning: pass {done} of {total}…"
        self.dialog.setLabelText(text)
        self.dialog.setValue(int(value))

    def _on_learned(self, report) -> None:
        self.last_report = report
        worker = self.worker
        window = self.window
        self.show_message(report.summary())
        if worker is None or window.project is not worker.project:
            return  # another document is open now: the model is kept, nothing switches
        self._switch_to = report.output

    def drop_result(self) -> None:
        self._switch_to = None

    def job_done(self) -> None:
        switch_to, self._switch_to = self._switch_to, None
        if switch_to is not None:
            # Analyse again with the new model; the switch is part of that undo step.
            self.window.start_analysis(model=switch_to, text="Analyse with personal model")

    # --- revert -------------------------------------------------------------------------
    def revert(self) -> bool:
        """Analyse again with the model the current one was learned from."""
        learned, base = self.previous_model()
        if not learned or self.running:
            return False
        return self.window.start_analysis(model=base, text="Revert to previous model")
