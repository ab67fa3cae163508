"""Analysis ▸ Actor Reference: read the voice relative to the actor's own.

"Make from the Actor's Lines…" averages the emotion encoder over the speech of lines the
user picks (a worker thread, with a progress dialog whose Cancel stops it between lines),
then analyses the clip again against that reference; "Load…" takes a reference saved
earlier or made by ``emotrack actor-reference``; "Save…" writes the project's one for
pipelines; "Clear" analyses again without. Each change of reference is one undo step with
its analysis (``commands.apply_analysis(actor=...)``), and the project file keeps it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog

from emotrack.core.actor_reference import MIN_LINES, ActorReference

from .job import JobController
from .worker import CancellableWorker, cached_model

ACTOR_FILTER = "Actor reference (*.json);;All files (*)"
AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.opus *.mp3 *.m4a *.aac *.aiff *.aif);;All files (*)"


class ReferenceCancelled(Exception):
    pass


class ActorReferenceWorker(CancellableWorker):
    """Makes an actor reference from audio files off the GUI thread."""

    progress = Signal(int, int)  # lines done, total
    succeeded = Signal(object, list)  # ActorReference, [unreadable line messages]
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, paths: list[str], model_dir: str | None, settings, name: str = "", parent=None) -> None:
        super().__init__(parent)
        self.paths, self.model_dir, self.settings, self.name = paths, model_dir, settings, name

    def run(self) -> None:  # worker thread
        from emotrack.errors import EmotrackError
        from emotrack.io.audio import load_audio
        from emotrack.pipeline import build_actor_reference

        skipped: list[str] = []

        def lines():
            for done, path in enumerate(self.paths):
                if self.is_cancelled:
                    raise ReferenceCancelled
                self.progress.emit(done, len(self.paths))
                try:
                    yield Path(path).name, load_audio(path)
                except EmotrackError as error:
                    skipped.append(f"{Path(path).name}: {error}")

        def make() -> tuple:
            reference = build_actor_reference(cached_model(self.model_dir), lines(), self.settings, name=self.name)
            return reference, skipped

        self.deliver(make, ReferenceCancelled, "Cannot make the actor reference: ", "Making the actor reference failed")


class ActorController(JobController):
    """The Actor Reference submenu, its worker and progress dialog, for one main window."""

    title = "Actor Reference"

    def __init__(self, window) -> None:
        super().__init__(window)
        self._pending: ActorReference | None = None  # made, applied once the worker has finished
        a = window._action
        # Lambdas: QAction.triggered passes a "checked" flag that must not become an argument.
        a("actor_make", "&Make from the Actor's Lines…", lambda: self.make(), None,
          f"Pick {MIN_LINES} or more lines of this actor, in several moods: the emotion model then "
          "reads the voice relative to the actor's own")
        a("actor_load", "&Load…", lambda: self.load(), None, "Use an actor reference saved earlier")
        a("actor_save", "&Save…", lambda: self.save(), None,
          "Save the project's actor reference (for emotrack --actor)")
        a("actor_clear", "&Clear", lambda: self.clear(), None, "Analyse again without an actor reference")
        menu = self.menu = window.analysis_menu.addMenu("Actor &Reference")
        menu.setToolTipsVisible(True)
        self.status_action = menu.addAction("No actor reference")
        self.status_action.setEnabled(False)
        menu.addSeparator()
        menu.addActions([window.actions[n] for n in ("actor_make", "actor_load", "actor_save", "actor_clear")])
        menu.aboutToShow.connect(self.update_actions)  # undo may have changed the project's reference

    # --- state --------------------------------------------------------------------------
    def current(self) -> ActorReference | None:
        project = self.window.project
        return project.actor if project is not None else None

    def update_actions(self) -> None:
        window, idle = self.window, self.window_idle
        reference = self.current()
        for name in ("actor_make", "actor_load"):
            window.actions[name].setEnabled(idle)
        window.actions["actor_save"].setEnabled(reference is not None)
        window.actions["actor_clear"].setEnabled(idle and reference is not None)
        self.status_action.setText(describe(reference))

    def _model_dir(self) -> str | None:
        window = self.window
        return (window.project.model if window.project is not None else None) or window.model_dir

    # --- make ---------------------------------------------------------------------------
    def make(self, paths: list[str] | None = None, name: str = "") -> bool:
        """Make a reference from ``paths`` (asks for them when None), then analyse with it."""
        window = self.window
        if not self.window_idle:
            return False
        if paths is None:
            paths = self.ask_lines()
        if not paths:
            return False
        worker = ActorReferenceWorker(list(paths), self._model_dir(), window.project.analysis, name, self)
        worker.progress.connect(self._on_progress)
        worker.succeeded.connect(self._on_made)
        worker.failed.connect(window.show_error)
        worker.cancelled.connect(lambda: window.statusBar().showMessage("Actor reference cancelled", 4000))
        self.start_job(worker, "Listening to the actor's lines…", len(paths))
        return True

    def _on_progress(self, done: int, total: int) -> None:
        if self.dialog is not None:
            self.dialog.setLabelText(f"Listening to line {done + 1} of {total}…")
            self.dialog.setValue(done)

    def _on_made(self, reference: ActorReference, skipped: list[str]) -> None:
        notes = []
        if skipped:
            notes.append(f"{len(skipped)} line(s) could not be read and were left out:\n" + "\n".join(skipped[:5]))
        notes += [f"The reference {note}." for note in reference.warnings()]
        if notes:
            self.show_message("\n\n".join(notes))
        self._pending = reference

    def drop_result(self) -> None:
        self._pending = None

    def job_done(self) -> None:
        reference, self._pending = self._pending, None
        if reference is not None and self.window.project is not None:
            self.apply(reference)

    # --- apply, load, save, clear --------------------------------------------------------------
    def apply(self, reference: ActorReference | None) -> bool:
        text = "Read without actor reference" if reference is None else f"Read relative to {label(reference)}"
        return self.window.start_analysis(actor=reference, text=text)

    def load(self, path: str | None = None) -> bool:
        from emotrack.errors import EmotrackError

        path = path or self.window.get_open_path("Load Actor Reference", self.window._last_dir("actor"),
                                                 ACTOR_FILTER)
        if not path:
            return False
        try:
            reference = ActorReference.load(path)
        except EmotrackError as error:
            self.window.show_error(str(error))
            return False
        self.window.settings.setValue("dirs/actor", str(Path(path).parent))
        return self.apply(reference)

    def save(self, path: str | None = None) -> bool:
        from emotrack.errors import EmotrackError

        reference = self.current()
        if reference is None:
            return False
        start = str(Path(self.window._last_dir("actor")) / f"{reference.name or 'actor'}.json")
        path = path or self.window.get_save_path("Save Actor Reference", start, ACTOR_FILTER)
        if not path:
            return False
        try:
            reference.save(path)
        except EmotrackError as error:
            self.window.show_error(str(error))
            return False
        self.window.settings.setValue("dirs/actor", str(Path(path).parent))
        self.window.statusBar().showMessage(f"Saved the actor reference to {path}", 5000)
        return True

    def clear(self) -> bool:
        return self.current() is not None and self.apply(None)

    # --- dialogs (replaceable in tests) ---------------------------------------------------
    def ask_lines(self) -> list[str]:
        return QFileDialog.getOpenFileNames(self.window, f"Lines of this actor ({MIN_LINES} or more, several moods)",
                                            self.window._last_dir("audio"), AUDIO_FILTER)[0]


def label(reference: ActorReference) -> str:
    return reference.name or f"the actor ({len(reference.lines)} lines)"


def describe(reference: ActorReference | None) -> str:
    if reference is None:
        return "No actor reference"
    return f"Reading relative to {reference.name or 'the actor'}: {len(reference.lines)} lines"
