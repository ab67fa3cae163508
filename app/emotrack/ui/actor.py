"""Analysis ▸ Actor Reference: read the voice relative to the actor's own.

"Make from the Actor's Lines…" averages the emotion encoder over the speech of lines the
user picks (a worker thread, with a progress dialog whose Cancel stops it between lines),
then analyses the clip again against that reference; "Make from This Voice's Lines in
the Folder" reads every recording beside the clip, groups them by voice
(``emotrack.ml.emotion.voices``) and makes the reference from the lines that share the
clip's voice, so a folder of a whole session needs no picking; "Load…" takes a reference saved
earlier or made by ``emotrack actor-reference``; "Save…" writes the project's one for
pipelines; "Clear" analyses again without. While the clip is read without a reference and
its folder holds enough other recordings, a link in the status bar offers the folder's
voice. Each change of reference is one undo step with its analysis
(``commands.apply_analysis(actor=...)``), and the project file keeps it.
"""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QPushButton

from emotrack.core.actor_reference import ACTOR_FOLDER, MIN_LINES, ActorReference
from emotrack.core.batch_plan import recordings_beside

from .job import JobController
from .worker import CancellableWorker, cached_model

ACTOR_FILTER = "Actor reference (*.json);;All files (*)"
AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.opus *.mp3 *.m4a *.aac *.aiff *.aif);;All files (*)"
# The status bar offers to read the clip against its voice's lines from this many other
# recordings in its folder on: the number of lines a reference is recommended to hold.
HINT_MIN_RECORDINGS = MIN_LINES - 1


class ReferenceCancelled(Exception):
    pass


class ActorReferenceWorker(CancellableWorker):
    """Makes an actor reference from audio files off the GUI thread."""

    progress = Signal(int, int)  # lines done, total
    succeeded = Signal(object, list)  # ActorReference (None: none could be made), [messages for the user]
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, paths: list[str], model_dir: str | None, settings, name: str = "", parent=None) -> None:
        super().__init__(parent)
        self.paths, self.model_dir, self.settings, self.name = paths, model_dir, settings, name

    def run(self) -> None:  # worker thread
        self.deliver(self._make, ReferenceCancelled, "Cannot make the actor reference: ",
                     "Making the actor reference failed")

    def _lines(self, paths: list, skipped: list[str]):
        """``(path, clip)`` of each of ``paths`` that decodes, with progress, stopping when
        cancelled; ``skipped`` gets a message for each of the others."""
        from emotrack.errors import EmotrackError
        from emotrack.io.audio import load_audio

        for done, path in enumerate(paths):
            if self.is_cancelled:
                raise ReferenceCancelled
            self.progress.emit(done, len(paths))
            try:
                clip = load_audio(path)
            except EmotrackError as error:
                skipped.append(f"{Path(path).name}: {error}")
                continue
            yield Path(path), clip

    def _make(self) -> tuple:
        from emotrack.pipeline import build_actor_reference

        skipped: list[str] = []
        lines = ((path.name, clip) for path, clip in self._lines(self.paths, skipped))
        reference = build_actor_reference(cached_model(self.model_dir), lines, self.settings, name=self.name)
        if skipped:
            skipped = [f"{len(skipped)} line(s) could not be read and were left out:\n" + "\n".join(skipped[:5])]
        return reference, skipped


class VoiceLinesWorker(ActorReferenceWorker):
    """Reads the recordings in the clip's folder, groups them by voice and makes the
    reference of the clip's own voice off the GUI thread."""

    def __init__(self, clip_path: str, model_dir: str | None, settings, parent=None) -> None:
        super().__init__([], model_dir, settings, parent=parent)
        self.clip_path = Path(clip_path)

    def _make(self) -> tuple:
        from emotrack.errors import ParameterError
        from emotrack.ml.emotion.voices import read_by_voice, reference_for_line

        if not self.clip_path.is_file():
            raise ParameterError(f"the clip's recording is not there any more: {self.clip_path}")
        paths = sorted(set(recordings_beside(self.clip_path)) | {self.clip_path})
        unread: list[str] = []  # another file's trouble is not this clip's
        lines = ((str(path), clip.samples) for path, clip in self._lines(paths, unread))
        settings = self.settings
        readings = read_by_voice(cached_model(self.model_dir), lines, settings.window, settings.hop,
                                 settings.min_pause)
        reference, note = reference_for_line(readings, str(self.clip_path), self.clip_path.parent.name)
        return reference, [note]


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
        a("actor_voice", "Make from This &Voice's Lines in the Folder", lambda: self.make_from_voice(), None,
          "Read every recording in the clip's folder, keep those in this clip's voice, and read the voice "
          "relative to them")
        a("actor_load", "&Load…", lambda: self.load(), None, "Use an actor reference saved earlier")
        a("actor_save", "&Save…", lambda: self.save(), None,
          "Save the project's actor reference (for emotrack --actor)")
        a("actor_clear", "&Clear", lambda: self.clear(), None, "Analyse again without an actor reference")
        menu = self.menu = window.analysis_menu.addMenu("Actor &Reference")
        menu.setToolTipsVisible(True)
        self.status_action = menu.addAction("No actor reference")
        self.status_action.setEnabled(False)
        menu.addSeparator()
        menu.addActions([window.actions[n]
                         for n in ("actor_make", "actor_voice", "actor_load", "actor_save", "actor_clear")])
        menu.aboutToShow.connect(self.update_actions)  # undo may have changed the project's reference

        # Reading against the voice's own lines is the largest gain on an unknown actor, and
        # a session folder holds them: say so where the user looks, until a reference is in use.
        self.voice_hint = QPushButton(window)
        self.voice_hint.setFlat(True)
        self.voice_hint.setStyleSheet("QPushButton { color: palette(link); text-decoration: underline; border: none;"
                                      " padding: 0 8px; }")
        self.voice_hint.setCursor(Qt.PointingHandCursor)
        self.voice_hint.setToolTip(
            "On actors the model never heard, a line read against many lines of the same voice is right on "
            "0.80 of clips instead of 0.70 (model card). Same as Analysis ▸ Actor Reference ▸ Make from This "
            "Voice's Lines in the Folder.")
        self.voice_hint.clicked.connect(lambda: self.make_from_voice())
        self.voice_hint.hide()
        window.statusBar().insertPermanentWidget(0, self.voice_hint)  # not hidden by passing messages
        window.undo_stack.indexChanged.connect(self._on_undo_step)
        self._beside: tuple[str, int] = ("", 0)  # (clip path, recordings beside it): listed once per clip

    # --- state --------------------------------------------------------------------------
    def current(self) -> ActorReference | None:
        project = self.window.project
        return project.actor if project is not None else None

    def update_actions(self) -> None:
        window, idle = self.window, self.window_idle
        reference = self.current()
        for name in ("actor_make", "actor_load"):
            window.actions[name].setEnabled(idle)
        has_audio = window.project is not None and window.project.audio is not None
        window.actions["actor_voice"].setEnabled(idle and has_audio)
        window.actions["actor_save"].setEnabled(reference is not None)
        window.actions["actor_clear"].setEnabled(idle and reference is not None)
        self.status_action.setText(describe(reference))
        self._update_hint(idle and has_audio and reference is None)

    def _on_undo_step(self, _index: int) -> None:
        # An undo step may bring the reference back or take it away. The stack also steps
        # while the window is torn down, after the menu's actions are gone.
        if shiboken6.isValid(self.status_action) and shiboken6.isValid(self.voice_hint):
            self.update_actions()

    def _update_hint(self, possible: bool) -> None:
        others = self._recordings_beside_clip() if possible and voice_lines_supported(self._model_dir()) else 0
        if others >= HINT_MIN_RECORDINGS:
            self.voice_hint.setText(f"Read against this voice's lines in the folder ({others} more recordings)")
        self.voice_hint.setVisible(others >= HINT_MIN_RECORDINGS)

    def _recordings_beside_clip(self) -> int:
        path = self.window.project.audio.path or ""
        if self._beside[0] != path:
            clip = Path(path)
            self._beside = (path, sum(p != clip for p in recordings_beside(clip)) if path else 0)
        return self._beside[1]

    def _model_dir(self) -> str | None:
        window = self.window
        return (window.project.model if window.project is not None else None) or window.model_dir

    # --- make ---------------------------------------------------------------------------
    def make(self, paths: list[str] | None = None, name: str = "") -> bool:
        """Make a reference from ``paths`` (asks for them when None), then analyse with it."""
        if not self.window_idle:
            return False
        if paths is None:
            paths = self.ask_lines()
        if not paths:
            return False
        worker = ActorReferenceWorker(list(paths), self._model_dir(), self.window.project.analysis, name, self)
        self._start(worker, "Listening to the actor's lines…", len(paths))
        return True

    def make_from_voice(self) -> bool:
        """Make the reference from the recordings in the clip's folder that share its voice."""
        window = self.window
        if not self.window_idle or window.project is None or window.project.audio is None:
            return False
        worker = VoiceLinesWorker(window.project.audio.path, self._model_dir(), window.project.analysis, self)
        self._start(worker, "Listening to the recordings in the folder…", 1)
        return True

    def _start(self, worker: ActorReferenceWorker, label: str, total: int) -> None:
        window = self.window
        worker.progress.connect(self._on_progress)
        worker.succeeded.connect(self._on_made)
        worker.failed.connect(window.show_error)
        worker.cancelled.connect(lambda: window.statusBar().showMessage("Actor reference cancelled", 4000))
        self.start_job(worker, label, total)

    def _on_progress(self, done: int, total: int) -> None:
        if self.dialog is not None:
            self.dialog.setMaximum(total)
            self.dialog.setLabelText(f"Listening to line {done + 1} of {total}…")
            self.dialog.setValue(done)

    def _on_made(self, reference: ActorReference | None, notes: list[str]) -> None:
        """Tell the user what the worker found; the reference is applied once it has finished."""
        if reference is not None:
            notes = notes + [f"The reference {note}." for note in reference.warnings()]
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


def voice_lines_supported(model_dir: str | None) -> bool:
    """Whether the emotion model can group lines by voice (it ships a voice space), without loading it."""
    from emotrack.core.voice_groups import VOICE_SPACE_FILE, voice_space_folder
    from emotrack.resources import emotion_model_dir

    folder = emotion_model_dir(model_dir)
    return (folder / ACTOR_FOLDER).is_dir() and (voice_space_folder(folder) / VOICE_SPACE_FILE).is_file()


def label(reference: ActorReference) -> str:
    return reference.name or f"the actor ({len(reference.lines)} lines)"


def describe(reference: ActorReference | None) -> str:
    if reference is None:
        return "No actor reference"
    return f"Reading relative to {reference.name or 'the actor'}: {len(reference.lines)} lines"
