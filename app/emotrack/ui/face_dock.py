"""The Face dock: the 3D view with its camera presets and the emotion on/off toggle, and
the glue that installs it (and the preview that drives it) in the main window."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QLabel, QMenu, QToolButton, QVBoxLayout, QWidget,
)

from emotrack.errors import EmotrackError

from .face_controls_panel import FaceControlsPanel
from .face_preview import FacePreview, bundled_face_animator
from .face_view import CAMERA_PRESETS, FaceView

PRESET_LABELS = {"front": "Front", "three-quarter": "¾", "profile": "Side"}


class FacePane(QWidget):
    emotionToggled = Signal(bool)
    loadCharacterRequested = Signal()
    bundledFaceRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.view = FaceView()
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        for preset in CAMERA_PRESETS:
            button = QToolButton()
            button.setText(PRESET_LABELS[preset])
            button.setToolTip(f"Camera: {preset.replace('-', ' ')} view (drag to orbit, wheel to zoom, "
                              "middle-drag to pan)")
            button.clicked.connect(lambda _=False, name=preset: self.view.set_camera(name))
            bar.addWidget(button)
        bar.addStretch(1)
        self.character_button = QToolButton()
        self.character_button.setText("Character")
        self.character_button.setToolTip("Pose your own character (glTF/GLB with ARKit-named morph targets, "
                                         "or an OBJ with a folder of shape OBJs) or the bundled face")
        self.character_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.character_button)
        menu.addAction("Load Character…", self.loadCharacterRequested.emit)
        menu.addAction("Bundled Face", self.bundledFaceRequested.emit)
        self.character_button.setMenu(menu)
        bar.addWidget(self.character_button)
        self.emotion_box = QCheckBox("Emotion")
        self.emotion_box.setChecked(True)
        self.emotion_box.setToolTip("Untick to see the lip sync alone (a neutral face), "
                                    "and what the emotion curves add to it")
        self.emotion_box.toggled.connect(self.emotionToggled)
        bar.addWidget(self.emotion_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.mesh_label = QLabel("")  # which mesh is posed, and how well a character matched
        self.mesh_label.setContentsMargins(6, 2, 6, 2)
        self.mesh_label.setWordWrap(True)
        layout.addWidget(self.mesh_label)


@lru_cache(maxsize=1)
def bundled_face_rig():
    """The ICT-FaceKit rig, read once per process (2 MB; every window shares it)."""
    from emotrack.core.face_rig import load_face_rig

    return load_face_rig()


CHARACTER_FILTER = "Characters (*.glb *.gltf *.obj);;All files (*)"
MAP_SUFFIX = ".arkit-map.json"  # a name map beside the character file is picked up


class FaceDocks(QObject):
    """The face's part of a main window: the Face and Face Controls docks, the preview
    behind them, and the face exports.

    The window docks what this builds and forwards three things: the document
    (:meth:`set_document`), the playhead (:meth:`set_time`) and closing (:meth:`shutdown`).
    """

    def __init__(self, window, loader=bundled_face_animator) -> None:
        super().__init__(window)
        self.window = window
        self.pane = FacePane()
        self.preview = FacePreview(self.pane.view, loader, self)
        self.character = None  # a loaded Character, or None for the bundled face
        self.use_bundled_face()
        self.controls = FaceControlsPanel(window.push)
        self.pane.emotionToggled.connect(self.preview.set_emotion)
        self.pane.loadCharacterRequested.connect(self.load_character_dialog)
        self.pane.bundledFaceRequested.connect(self.use_bundled_face)
        self.preview.status.connect(lambda message: window.statusBar().showMessage(message, 5000))
        self.preview.progress.connect(self._show_listening)
        self.dock = window._dock("Face", self.pane, Qt.RightDockWidgetArea)
        self.controls_dock = window._dock("Face Controls", window._scroll(self.controls), Qt.LeftDockWidgetArea)

    def set_document(self, project, clip) -> None:
        self.preview.set_document(project, clip)
        self.controls.set_project(project)

    def _show_listening(self, done: int, total: int) -> None:
        if done < total:  # the last span is followed by "Face ready"
            self.window.statusBar().showMessage(f"Face: listening to the clip… {100 * done // max(total, 1)} %")

    def set_time(self, seconds: float) -> None:
        self.preview.set_time(seconds)

    def shutdown(self) -> None:
        self.preview.shutdown()

    # --------------------------------------------------------------- characters
    def use_bundled_face(self) -> None:
        self.character = None
        self.preview.set_mesh(bundled_face_rig())
        self.pane.mesh_label.setText("ICT-FaceKit face (bundled)")
        self.pane.mesh_label.setToolTip("")

    def load_character_dialog(self) -> bool:
        path = self.window.get_open_path("Load Character", self.window._last_dir("character"), CHARACTER_FILTER)
        return bool(path) and self.load_character(path)

    def load_character(self, path: str | Path, mapping: str | Path | None = None) -> bool:
        """Pose the character at ``path`` (a ``NAME.arkit-map.json`` beside it, or
        ``mapping``, maps its shape names); errors go to the window, the face stays."""
        from emotrack.core.character import load_character
        from emotrack.core.character_names import format_report

        path = Path(path)
        beside = path.with_name(path.stem + MAP_SUFFIX)
        mapping = mapping if mapping is not None else (beside if beside.is_file() else None)
        try:
            character = load_character(path, mapping)
        except EmotrackError as error:
            self.window.show_error(f"Cannot load the character {path.name}: {error}")
            return False
        self.character = character
        self.preview.set_mesh(character)
        report = format_report(character.report)
        self.pane.mesh_label.setText(f"{path.name} ({character.name}): {report.splitlines()[0]}")
        self.pane.mesh_label.setToolTip(report)
        self.window.settings.setValue("dirs/character", str(path.parent))
        return True

    # ------------------------------------------------------------------ export
    def export_writer(self, kind: str, path: str | Path, fps: int):
        """A function that writes face export ``kind`` of the open project (for a worker
        thread: it works on a snapshot), or None while the clip is still being listened to."""
        import copy

        from emotrack.core.exports import project_frame_times
        from emotrack.pipeline import face_weights, write_face_export

        preview = self.preview
        if not preview.ready:
            return None
        project, animator, features = copy.copy(preview.project), preview.animator, preview.features
        mesh = self.character

        def write() -> None:
            times = project_frame_times(project, fps)
            write_face_export(kind, project, face_weights(project, animator, features, times), fps, path, mesh)

        return write
