"""A window's long background job: one worker thread at a time, its progress dialog,
and what happens when it ends. Learn from My Corrections and Actor Reference are two.

Subclasses start a worker with :meth:`JobController.start_job`, keep the worker's
result when it succeeds, and act on it in :meth:`job_done`, which runs in the GUI
thread after the thread has finished (so a new analysis can start from there).
:meth:`cancel` with ``wait`` (the window closing) drops any result instead.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread
from PySide6.QtWidgets import QMessageBox, QProgressDialog

from .worker import CancellableWorker


class JobController(QObject):
    title = ""  # of the progress dialog and of the messages

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.worker: CancellableWorker | None = None
        self.dialog: QProgressDialog | None = None
        self.last_message = ""

    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def window_idle(self) -> bool:
        """A clip is open and neither the window's analysis nor this job is running."""
        window = self.window
        return window.project is not None and window.clip is not None and window.worker is None and not self.running

    def start_job(self, worker: CancellableWorker, label: str, maximum: int) -> None:
        """Run ``worker`` with a window-modal progress dialog whose Cancel stops it."""
        worker.finished.connect(self._on_finished)
        self.worker = worker
        dialog = QProgressDialog(label, "Cancel", 0, maximum, self.window)
        dialog.setWindowTitle(self.title)
        dialog.setWindowModality(Qt.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)  # closed when the thread has finished, not at 100 %
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.cancel)
        dialog.setValue(0)
        self.dialog = dialog
        self.window._update_actions()
        worker.start()

    def cancel(self, wait: bool = False) -> None:
        if self.worker is not None:
            self.worker.cancel()
            if wait:  # the window is closing or changing document: nothing follows
                self.worker.wait()
                self.drop_result()
                self._on_finished()

    def _on_finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is None:
            return
        _dispose(worker, self.dialog)
        self.dialog = None
        self.window._update_actions()
        self.job_done()

    def job_done(self) -> None:
        """Act on the job's result (GUI thread, worker gone). Default: nothing."""

    def drop_result(self) -> None:
        """Forget the job's result: the window is closing. Default: nothing."""

    # --- dialogs (replaceable in tests) ---------------------------------------------------
    def show_message(self, message: str) -> None:
        self.last_message = message
        box = QMessageBox(QMessageBox.Information, self.title, message, QMessageBox.Ok, self.window)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()  # not exec(): never blocks the event loop


def _dispose(worker: QThread, dialog: QProgressDialog | None) -> None:
    worker.wait()
    worker.deleteLater()
    if dialog is not None:
        dialog.close()
        dialog.deleteLater()
