"""The main window: timeline in the centre, inspector / controls / history docks, menus.

The window owns the current ``Project``, its ``AudioClip`` and one ``QUndoStack``; the
stack's clean state is the modified flag. Every document change is a core command
pushed through :meth:`MainWindow.push`. Dialog hooks (``ask_unsaved``, ``ask_recover``,
``get_open_path``, ``get_save_path``) are methods so tests can replace them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QApplication, QComboBox, QDialog, QDialogButtonBox, QDockWidget, QFileDialog, QFormLayout,
    QHBoxLayout, QLabel, QLineEdit, QMainWindow, QMessageBox, QProgressBar, QProgressDialog,
    QPushButton,
    QScrollArea, QTableWidget, QTableWidgetItem, QToolButton, QUndoView, QVBoxLayout, QWidget,
)

from emotrack.core import commands
from emotrack.core.commands import Command
from emotrack.core.document import FRAME_RATES, Project
from emotrack.core.recovery import RecoveryStore
from emotrack.core.settings import AnalysisSettings
from emotrack.errors import EmotrackError

from . import undo
from .controls import EmotionControls
from .actor import ActorController
from .corrections import CorrectionsController
from .face_dock import FaceDocks
from .face_preview import bundled_face_animator
from .inspector import Inspector
from .model_menu import EmotionModelMenu
from .playback import Player
from .record import RecordDialog, sounddevice_input
from .selection import Selection
from .theme import THEMES, apply_theme
from .timeline import Timeline
from .quality_controller import QualityController
from .worker import AnalysisWorker, ExportWorker, OpenWorker

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.opus *.mp3 *.m4a *.aac *.aiff *.aif);;All files (*)"
PROJECT_FILTER = "Emotrack project (*.emotrack);;All files (*)"
PROJECT_SUFFIX = ".emotrack"
MAX_RECENT = 10
EXPORT_KINDS = {
    "Curves (CSV, one row per frame)": ("curves_csv", ".csv"),
    "Curves (JSON, one entry per frame)": ("curves_json", ".json"),
    "Keyframes (JSON)": ("keyframes_json", ".json"),
    "Face: ARKit curves (Live Link Face CSV)": ("arkit-csv", ".arkit.csv"),
    "Face: ARKit curves (Audio2Face JSON)": ("arkit-json", ".arkit.json"),
    "Face: animated mesh (glTF binary, .glb)": ("glb", ".glb"),
    "Face: vertex cache (PC2)": ("pc2", ".pc2"),
    "Face: mouth cues (Rhubarb TSV)": ("mouth-cues", ".mouth.tsv"),
}


def default_recovery_dir() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or Path.home()) / "recovery"


class ExportDialog(QDialog):
    """Pick what to export, the frame rate and the file."""

    def __init__(self, parent: QWidget, start_dir: str, fps: int) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.kind = QComboBox()
        self.kind.addItems(list(EXPORT_KINDS))
        self.fps = QComboBox()
        self.fps.addItems([str(f) for f in FRAME_RATES])
        self.fps.setCurrentText(str(fps))
        self.path = QLineEdit(str(Path(start_dir) / "emotions.csv"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.kind.currentTextChanged.connect(self._fix_suffix)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("Export", self.kind)
        form.addRow("Frame rate", self.fps)
        form.addRow("File", row)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _fix_suffix(self, text: str) -> None:
        self.path.setText(str(Path(self.path.text()).with_suffix(EXPORT_KINDS[text][1])))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text())
        if path:
            self.path.setText(path)

    def choice(self) -> tuple[str, str, int]:
        return EXPORT_KINDS[self.kind.currentText()][0], self.path.text(), int(self.fps.currentText())


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, recovery_dir: str | Path | None = None,
                 player: Player | None = None, model_dir: str | Path | None = None,
                 autosave_seconds: int = 60, auto_analyse: bool = True,
                 input_factory=sounddevice_input, quality_model_dir: str | Path | None = None,
                 auto_quality: bool | None = None,
                 enhancement_model_dir: str | Path | None = None,
                 face_loader=bundled_face_animator) -> None:
        super().__init__()
        self.input_factory = input_factory  # microphone stream factory (tests inject one)
        self.settings = settings or QSettings("Emotrack", "Emotrack")
        self.recovery_dir = Path(recovery_dir) if recovery_dir else default_recovery_dir()
        self.recovery = RecoveryStore(self.recovery_dir)
        # The emotion model for new analyses: a bundled model's name or a folder.
        self.model_dir = str(model_dir) if model_dir else self.settings.value("analysis/model", None)
        self.auto_analyse = auto_analyse
        self.project: Project | None = None
        self.clip = None
        self.worker: AnalysisWorker | None = None
        self.loader: OpenWorker | None = None
        self.clipboard: list = []
        self.last_error = ""

        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._update_title)
        self.selection = Selection(self)
        self.timeline = Timeline(self.selection, self.push)
        self.setCentralWidget(self.timeline)
        self.inspector = Inspector(self.selection, self.push)
        self.controls = EmotionControls(self.push)
        self.history = QUndoView(self.undo_stack)
        self.history.setEmptyLabel("<opened>")
        self.docks = {
            "inspector": self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea),
            "controls": self._dock("Emotion Controls", self._scroll(self.controls), Qt.LeftDockWidgetArea),
            "history": self._dock("History", self.history, Qt.RightDockWidgetArea),
        }
        self.face = FaceDocks(self, face_loader)
        self.docks["face"] = self.face.dock
        self.docks["face_controls"] = self.face.controls_dock
        # Face on top at the right, the inspector (with the history behind it) below it.
        self.tabifyDockWidget(self.docks["controls"], self.face.controls_dock)
        self.splitDockWidget(self.face.dock, self.docks["inspector"], Qt.Vertical)
        self.tabifyDockWidget(self.docks["inspector"], self.docks["history"])
        self.docks["controls"].raise_()
        self.docks["inspector"].raise_()

        self.player = player or Player(parent=self)
        self.player.positionChanged.connect(self._on_position)
        self.player.error.connect(lambda message: self.statusBar().showMessage(message, 8000))
        self.player.playingChanged.connect(lambda on: self.actions["play"].setText("Pause" if on else "Play"))
        self.timeline.seekRequested.connect(self.player.seek)
        self.controls.analysisRequested.connect(self.start_analysis)

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("Analysing %p %")
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(self.cancel_analysis)
        self.info_label = QLabel("")
        sb = self.statusBar()
        sb.addPermanentWidget(self.info_label)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        self.progress.hide()
        self.cancel_button.hide()

        self._make_actions()
        self._make_menus()
        self.quality = QualityController(self, quality_model_dir,
                                         auto_analyse if auto_quality is None else auto_quality,
                                         enhancement_model_dir)
        self.corrections = CorrectionsController(self)
        self.actor_controller = ActorController(self)
        self.setAcceptDrops(True)
        self.resize(1440, 860)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(max(autosave_seconds, 1) * 1000)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self._update_title()
        self._update_actions()

    # --- construction helpers ---------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    @staticmethod
    def _scroll(widget: QWidget) -> QScrollArea:
        area = QScrollArea()
        area.setWidget(widget)
        area.setWidgetResizable(True)
        area.setMinimumWidth(widget.sizeHint().width() + 24)
        return area

    def _action(self, name: str, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        self.actions[name] = action
        return action

    def _make_actions(self) -> None:
        self.actions: dict[str, QAction] = {}
        a = self._action
        a("open_audio", "Open &Audio…", lambda: self._open_dialog(AUDIO_FILTER), QKeySequence.Open,
          "Open a voice recording and analyse it")
        a("open_project", "Open &Project…", lambda: self._open_dialog(PROJECT_FILTER), "Ctrl+Shift+O")
        a("save", "&Save", self.save, QKeySequence.Save)
        a("save_as", "Save &As…", self.save_as, QKeySequence.SaveAs)
        a("export", "&Export…", self.export_dialog, "Ctrl+E", "Export curves or keyframes")
        a("record", "&Record Take…", self.record_dialog, "Ctrl+Shift+R",
          "Record from the microphone, then open and analyse the take")
        a("quit", "&Quit", self.close, QKeySequence.Quit)
        undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        undo_action.setShortcut(QKeySequence.Undo)
        redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        redo_action.setShortcuts([QKeySequence.Redo, QKeySequence("Ctrl+Shift+Z")])
        self.actions["undo"], self.actions["redo"] = undo_action, redo_action
        a("copy", "&Copy Keyframes", self.copy_keys, QKeySequence.Copy)
        a("paste", "&Paste Keyframes at Playhead", self.paste_keys, QKeySequence.Paste)
        a("delete", "&Delete Keyframes", self.timeline.delete_selected, QKeySequence.Delete)
        self.actions["delete"].setShortcuts([QKeySequence.Delete, QKeySequence(Qt.Key_Backspace)])
        a("select_all", "Select &All Keyframes", self.timeline.select_all, QKeySequence.SelectAll)
        a("add_key", "Add &Keyframe at Playhead", lambda: self.timeline.add_key_at(self.player.position), "K")
        a("lock", "&Lock/Unlock Keyframes", self.timeline.toggle_lock_selected, "L")
        a("analyse", "&Analyse Clip", lambda: self.start_analysis(), "Ctrl+R",
          "Run the emotion network over the clip")
        a("cancel", "&Cancel Analysis", self.cancel_analysis, "Esc")
        a("play", "&Play", self.player.toggle, "Space")
        a("stop", "&Stop", self.player.stop, "Shift+Space")
        a("start", "|◀ Start", lambda: self.player.seek(0.0), "Home")
        a("loop", "&Loop Selected Keys", self.toggle_loop, "Ctrl+L",
          "Loop playback over the time span of the selected keyframes")
        self.actions["loop"].setCheckable(True)
        a("fit", "&Zoom to Fit", self.timeline.zoom_to_fit, "F")
        a("stacked", "&Stacked Emotions", self.timeline.set_stacked, "S",
          "Show emotions as stacked bands instead of separate curves")
        self.actions["stacked"].setCheckable(True)
        a("theme", "&Light Theme", self.toggle_theme)
        self.actions["theme"].setCheckable(True)
        a("shortcuts", "&Keyboard Shortcuts", self.show_shortcuts, "F1")
        a("about", "&About Emotrack", lambda: QMessageBox.about(
            self, "About Emotrack", "Emotrack: emotion keyframes from voice recordings."))

    def _make_menus(self) -> None:
        mb = self.menuBar()
        act = self.actions
        file_menu = mb.addMenu("&File")
        file_menu.addActions([act["open_audio"], act["open_project"], act["record"]])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._rebuild_recent()
        file_menu.addSeparator()
        file_menu.addActions([act["save"], act["save_as"], act["export"]])
        file_menu.addSeparator()
        file_menu.addAction(act["quit"])
        edit = mb.addMenu("&Edit")
        edit.addActions([act["undo"], act["redo"]])
        edit.addSeparator()
        edit.addActions([act[n] for n in ("copy", "paste", "delete", "select_all", "add_key", "lock")])
        analysis = self.analysis_menu = mb.addMenu("&Analysis")
        analysis.addActions([act["analyse"], act["cancel"]])
        self.model_menu = EmotionModelMenu(self)
        self.model_menu.show_model(self.model_dir)
        self.model_menu.modelChosen.connect(self.set_emotion_model)
        analysis.addMenu(self.model_menu)
        play = mb.addMenu("&Playback")
        play.addActions([act[n] for n in ("play", "stop", "start", "loop")])
        view = mb.addMenu("&View")
        view.addActions([act["fit"], act["stacked"]])
        self.fps_menu = view.addMenu("&Frame Rate")
        self.fps_actions = QActionGroup(self)
        for fps in FRAME_RATES:
            action = self.fps_menu.addAction(f"{fps} fps")
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, fps=fps: self.set_fps(fps))
            self.fps_actions.addAction(action)
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(act["theme"])
        help_menu = self.help_menu = mb.addMenu("&Help")
        help_menu.addActions([act["shortcuts"], act["about"]])

        bar = self.addToolBar("Transport")
        bar.setObjectName("toolbar-transport")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        for name in ("open_audio", "save", None, "analyse", None,
                     "start", "play", "stop", "loop", None, "stacked", "fit"):
            if name is None:
                bar.addSeparator()
            else:
                bar.addAction(act[name])
        self.toolbar = bar

    # --- document ---------------------------------------------------------------------------
    def push(self, command: Command) -> None:
        if self.project is not None:
            undo.push(self.undo_stack, self.project, command)

    def set_fps(self, fps: int) -> None:
        """The project's frame rate (ruler, snapping, default export rate), undoable."""
        if self.project is not None and self.project.fps != fps:
            self.push(commands.change_fps(self.project, fps))

    def _show_fps(self, fps: int) -> None:
        for action, rate in zip(self.fps_actions.actions(), FRAME_RATES):
            action.setChecked(rate == fps)

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def set_document(self, project: Project | None, clip, envelope=None) -> None:
        self.cancel_analysis(wait=True)
        self.corrections.cancel(wait=True)
        self.player.set_audio(None if clip is None else clip.samples,
                              16_000 if clip is None else clip.sample_rate)
        if self.project is not None:
            self.project.events.fps.disconnect(self._show_fps)
        self.project, self.clip = project, clip
        if project is not None:
            project.events.fps.connect(self._show_fps)
            self._show_fps(project.fps)
        self.undo_stack.clear()
        self.timeline.set_project(project, None if clip is None else clip.samples,
                                  16_000 if clip is None else clip.sample_rate, envelope)
        self.inspector.set_project(project)
        self.controls.set_project(project)
        self.quality.set_project(project)
        self.face.set_document(project, clip)
        self.clipboard = []
        self._update_title()
        self._update_actions()

    def open_path(self, path: str | Path) -> bool:
        """Open an audio file or a project, after offering to save changes. Decoding runs
        in a worker thread; the document appears when it is ready (``loader`` is None)."""
        path = Path(path)
        if self.loader is not None or not self.maybe_save():
            return False
        kind = "project" if path.suffix.lower() == PROJECT_SUFFIX else "audio"
        loader = OpenWorker(path, kind, self.model_dir, self)
        loader.succeeded.connect(self._on_opened)
        loader.failed.connect(self._on_open_failed)
        self.loader = loader
        self.progress.setRange(0, 0)
        self.progress.setFormat("Opening…")
        self.progress.show()
        self.statusBar().showMessage(f"Opening {path.name}…")
        loader.start()
        return True

    def _finish_loader(self) -> OpenWorker:
        loader, self.loader = self.loader, None
        loader.wait()
        loader.deleteLater()
        self.progress.hide()
        self.progress.setFormat("Analysing %p %")
        return loader

    def _on_open_failed(self, message: str) -> None:
        self._finish_loader()
        self.show_error(message)

    def _on_opened(self, project: Project, clip, envelope, warning: str) -> None:
        loader = self._finish_loader()
        self.set_document(project, clip, envelope)
        self._remember(loader.path, loader.kind)
        if warning:
            self.show_error(warning)
        if loader.kind == "audio":
            self.statusBar().showMessage(f"Opened {loader.path.name} ({clip.duration:.1f} s)", 5000)
            if self.auto_analyse:
                self.start_analysis()
            if self.quality.auto and self.quality.available():
                self.quality.start()
        else:
            self.statusBar().showMessage(f"Opened project {loader.path.name}", 5000)

    def _load_project_audio(self, project: Project):
        from emotrack.io.audio import load_audio

        if project.audio is None or not project.audio.path:
            return None
        try:
            return load_audio(project.audio.path)
        except EmotrackError as error:
            self.show_error(f"The project's audio cannot be read ({error}); "
                            "curves are shown without waveform or playback.")
            return None

    def save(self) -> bool:
        if self.project is None:
            return False
        if self.project.path is None:
            return self.save_as()
        return self.save_to(self.project.path)

    def save_as(self) -> bool:
        if self.project is None:
            return False
        start = self.project.path or Path(self._last_dir("project")) / (
            Path(self.project.audio.path).stem + PROJECT_SUFFIX if self.project.audio else "untitled.emotrack")
        path = self.get_save_path("Save Project", str(start), PROJECT_FILTER)
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() != PROJECT_SUFFIX:
            path = path.with_suffix(PROJECT_SUFFIX)
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        from emotrack.core.project_file import save_project

        try:
            save_project(self.project, path)
        except (EmotrackError, OSError) as error:
            self.show_error(f"Cannot save {Path(path).name}: {error}")
            return False
        self.undo_stack.setClean()
        self.clear_recovery()
        self._remember(Path(path), "project")
        self._update_title()
        self.statusBar().showMessage(f"Saved {Path(path).name}", 4000)
        return True

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document."""
        if self.project is None or not self.modified:
            return True
        answer = self.ask_unsaved()
        if answer == "save":
            return self.save()
        return answer == "discard"

    # --- export --------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self.project is None:
            return
        dialog = ExportDialog(self, self._last_dir("export"), self.project.fps)
        if dialog.exec() == QDialog.Accepted:
            self.export_to(*dialog.choice())

    def export_to(self, kind: str, path: str | Path, fps: int) -> bool:
        """Write an export in a worker thread and wait for it: the window keeps painting,
        and a modal busy dialog (shown after 0.3 s) keeps edits out until the file is whole."""
        from emotrack.core import exports

        project = self.project
        curves = {
            "curves_csv": lambda: exports.export_curves_csv(project, path, fps),
            "curves_json": lambda: exports.export_curves_json(project, path, fps),
            "keyframes_json": lambda: exports.export_keyframes_json(project, path, fps),
        }
        write = curves[kind] if kind in curves else self.face.export_writer(kind, path, fps)
        if write is None:
            self.show_error("The face is still listening to the clip; export it again in a moment.")
            return False
        worker = ExportWorker(write, self)
        busy = QProgressDialog(f"Exporting {Path(path).name}…", None, 0, 0, self)
        busy.setWindowTitle("Export")
        busy.setWindowModality(Qt.WindowModal)
        busy.setMinimumDuration(300)
        loop = QEventLoop()
        worker.finished.connect(loop.quit)
        worker.start()
        loop.exec()
        busy.close()
        worker.deleteLater()
        if worker.error:
            self.show_error(f"Export failed: {worker.error}")
            return False
        self.settings.setValue("dirs/export", str(Path(path).parent))
        self.statusBar().showMessage(f"Exported {Path(path).name}", 4000)
        return True

    def record_dialog(self) -> RecordDialog:
        """Non-modal: when the take is saved, it is opened (and analysed)."""
        dialog = RecordDialog(self, self._last_dir("audio"), self.input_factory)
        dialog.accepted.connect(lambda: dialog.saved_path and self.open_path(dialog.saved_path))
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # --- analysis ---------------------------------------------------------------------------
    def start_analysis(self, settings: AnalysisSettings | None = None, model=commands.KEEP_MODEL,
                       text: str = "Analyse clip", actor=commands.KEEP_MODEL) -> bool:
        """Analyse the clip in a worker thread; one undo step ``text`` when done. With
        ``model`` (a folder or name; None = the window's), the project switches to it in
        that same step; likewise with ``actor`` (an actor reference, None for none)."""
        if self.project is None or self.clip is None:
            self.statusBar().showMessage("Open an audio file first", 4000)
            return False
        if self.worker is not None:
            return False
        settings = settings or self.project.analysis
        model_dir = self.project.model if model is commands.KEEP_MODEL else model
        worker = AnalysisWorker(self.clip, settings, model_dir or self.model_dir, self)
        worker.project = self.project
        worker.new_model, worker.command_text = model, text
        worker.actor = self.project.actor if actor is commands.KEEP_MODEL else actor
        worker.new_actor = actor
        worker.enhance = self.quality.enhance
        worker.enhancement_model_dir = self.quality.enhancement_model_dir
        worker.progress.connect(self._on_progress)
        worker.succeeded.connect(self._on_analysed)
        # Bound methods of this QObject: queued into the GUI thread from the worker.
        worker.failed.connect(self.show_error)
        worker.cancelled.connect(self._on_cancelled)
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.statusBar().showMessage("Loading the emotion model…")
        self._update_actions()
        worker.start()
        return True

    def set_emotion_model(self, model: str) -> None:
        """Use ``model`` (bundled name or folder) from now on; re-analyse the open clip."""
        self.model_dir = model
        self.settings.setValue("analysis/model", model)
        self.model_menu.show_model(model)
        if self.project is not None and self.clip is not None:
            # One undo step: Ctrl+Z brings back the previous model and its keys.
            self.cancel_analysis(wait=True)
            self.start_analysis(model=model, text="Analyse with another emotion model")

    def cancel_analysis(self, wait: bool = False) -> None:
        worker = self.worker
        if worker is None:
            return
        worker.cancel()
        if wait:
            worker.wait()
            self._on_worker_finished()

    def _on_cancelled(self) -> None:
        self.statusBar().showMessage("Analysis cancelled", 4000)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.statusBar().showMessage(f"Analysing window {done} of {total}…")

    def _on_analysed(self, windows, settings: AnalysisSettings) -> None:
        worker = self.sender() if isinstance(self.sender(), AnalysisWorker) else self.worker
        project = self.project
        if project is None or worker is None or worker.project is not project or worker.is_cancelled:
            return
        if windows.probabilities.shape[1] != len(project.labels):
            self.show_error("The model's labels differ from this project's; open the audio again "
                            "to analyse it with this model.")
            return
        self.push(commands.apply_analysis(project, windows, settings, worker.command_text, worker.new_model,
                                          worker.new_actor))
        if worker.actor_dropped:
            self.show_error(f"Analysed without the actor reference: {worker.actor_dropped}")
            return
        self.statusBar().showMessage(f"Analysed {len(windows.probabilities)} windows → "
                                     f"{len(project.keyframes)} keyframes", 5000)

    def _on_worker_finished(self) -> None:
        if self.worker is None:
            return
        self.worker.wait()
        self.worker.deleteLater()
        self.worker = None
        self.progress.hide()
        self.cancel_button.hide()
        self._update_actions()

    def _on_position(self, seconds: float) -> None:
        self.timeline.set_playhead(seconds)
        self.quality.lane.set_playhead(seconds)
        self.face.set_time(seconds)
        if self.player.playing:
            self.timeline.ensure_visible(seconds)

    # --- edit -------------------------------------------------------------------------------
    def copy_keys(self) -> None:
        if self.project is not None:
            self.clipboard = [k for k in self.project.keyframes if k.id in self.selection.ids]

    def paste_keys(self) -> None:
        if self.project is None or not self.clipboard:
            return
        command, ids = commands.paste_keyframes(self.project, self.clipboard, self.player.position,
                                                self.project.fps)
        self.push(command)
        self.selection.set(ids)

    def toggle_loop(self, on: bool) -> None:
        keys = [k for k in self.project.keyframes if k.id in self.selection.ids] if self.project else []
        if on and len(keys) >= 2:
            self.player.set_loop((keys[0].time, keys[-1].time))
            self.statusBar().showMessage(f"Looping {keys[0].time:.2f}–{keys[-1].time:.2f} s", 4000)
        else:
            self.player.set_loop(None)
            self.actions["loop"].setChecked(False)
            if on:
                self.statusBar().showMessage("Select two or more keyframes to loop over", 4000)

    # --- autosave and recovery (emotrack.core.recovery) -------------------------------------
    @property
    def recovery_file(self) -> Path:
        return self.recovery.project_file

    def autosave(self) -> bool:
        """Write the unsaved document to the recovery folder (never to the user's file)."""
        if self.project is None or not self.modified:
            return False
        try:
            self.recovery.write(self.project)
        except (OSError, EmotrackError) as error:
            self.statusBar().showMessage(f"Autosave failed: {error}", 8000)
            return False
        return True

    def clear_recovery(self) -> None:
        self.recovery.clear()

    def offer_recovery(self) -> bool:
        """At start-up: reopen an autosave left by a crash, if the user wants it."""
        if not self.recovery.exists():
            return False
        if not self.ask_recover():
            self.recovery.clear()
            return False
        try:
            project = self.recovery.read()
        except EmotrackError as error:
            self.show_error(f"The autosave cannot be recovered: {error}")
            return False
        self.set_document(project, self._load_project_audio(project))
        self.undo_stack.resetClean()  # recovered work is unsaved work
        self._update_title()
        self.statusBar().showMessage("Recovered unsaved work from the autosave", 6000)
        return True

    # --- dialogs (replaceable in tests) ---------------------------------------------------
    def ask_unsaved(self) -> str:
        answer = QMessageBox.question(
            self, "Unsaved changes", "Save changes to the current project?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")

    def ask_recover(self) -> bool:
        return QMessageBox.question(
            self, "Recover unsaved work",
            "Emotrack did not close cleanly. Recover the unsaved work from the autosave?",
        ) == QMessageBox.Yes

    def get_open_path(self, caption: str, start: str, filters: str) -> str:
        return QFileDialog.getOpenFileName(self, caption, start, filters)[0]

    def get_save_path(self, caption: str, start: str, filters: str) -> str:
        return QFileDialog.getSaveFileName(self, caption, start, filters)[0]

    def show_error(self, message: str) -> None:
        self.last_error = message
        self.statusBar().showMessage(message, 10000)
        box = QMessageBox(QMessageBox.Warning, "Emotrack", message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()  # not exec(): never blocks the event loop

    def show_shortcuts(self) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard Shortcuts")
        table = QTableWidget(0, 2)
        table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        rows = [(a.text().replace("&", ""), ", ".join(s.toString(QKeySequence.NativeText) for s in a.shortcuts()))
                for a in self.actions.values() if a.shortcuts()]
        rows += [("Select keyframe / add to selection", "Click / Shift+Click"),
                 ("Rubber-band select", "Drag on empty timeline"),
                 ("Move keyframes (snapped to frames)", "Drag a keyframe"),
                 ("Add keyframe", "Double-click"), ("Zoom / pan", "Wheel / Middle-drag")]
        table.setRowCount(len(rows))
        for i, (name, keys) in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(name))
            table.setItem(i, 1, QTableWidgetItem(keys))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        dialog.resize(520, 560)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _open_dialog(self, filters: str) -> None:
        kind = "project" if filters == PROJECT_FILTER else "audio"
        path = self.get_open_path("Open", self._last_dir(kind), filters)
        if path:
            self.open_path(path)

    # --- settings, recent files ---------------------------------------------------------------
    def _last_dir(self, kind: str) -> str:
        return str(self.settings.value(f"dirs/{kind}", str(Path.home())))

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return list(value or [])

    def _remember(self, path: Path, kind: str) -> None:
        path = str(Path(path).resolve())
        recent = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", [path] + recent[: MAX_RECENT - 1])
        self.settings.setValue(f"dirs/{kind}", str(Path(path).parent))
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def toggle_theme(self, light: bool) -> None:
        self.set_theme("light" if light else "dark")

    def set_theme(self, name: str) -> None:
        theme = THEMES[name]
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, theme)
        self.timeline.apply_theme(theme)
        self.quality.lane.apply_theme(theme)
        self.actions["theme"].setChecked(name == "light")
        self.settings.setValue("theme", name)

    # --- window chrome ---------------------------------------------------------------------
    def _update_title(self, *_) -> None:
        name = "Untitled"
        if self.project is not None:
            if self.project.path is not None:
                name = Path(self.project.path).name
            elif self.project.audio is not None and self.project.audio.path:
                name = Path(self.project.audio.path).name
        self.setWindowTitle(f"{name}[*] — Emotrack")
        self.setWindowModified(self.modified)
        if self.project is not None and self.project.audio is not None:
            a = self.project.audio
            self.info_label.setText(f"{a.duration:.1f} s · {a.original_rate} Hz · {self.project.fps} fps")

    def _update_actions(self) -> None:
        has_doc = self.project is not None
        running = self.worker is not None
        for name in ("save", "save_as", "export", "copy", "paste", "delete", "select_all",
                     "add_key", "lock", "play", "stop", "start", "loop", "fit"):
            self.actions[name].setEnabled(has_doc)
        self.actions["analyse"].setEnabled(has_doc and self.clip is not None and not running)
        self.actions["cancel"].setEnabled(running)
        if hasattr(self, "quality"):
            self.quality.update_actions()
        if hasattr(self, "corrections"):
            self.corrections.update_actions()
        if hasattr(self, "actor_controller"):
            self.actor_controller.update_actions()

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_path(files[0])

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.maybe_save():
            event.ignore()
            return
        self.player.pause()
        self.corrections.cancel(wait=True)
        self.actor_controller.cancel(wait=True)
        self.cancel_analysis(wait=True)
        self.face.shutdown()
        if self.loader is not None:
            self.loader.wait()
        self.quality.shutdown()
        self.autosave_timer.stop()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        self.clear_recovery()
        event.accept()
