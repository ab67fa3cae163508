"""The Face dock: the 3D view with its camera presets and the emotion on/off toggle, and
the glue that installs it (and the preview that drives it) in the main window."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QCheckBox, QHBoxLayout, QToolButton, QVBoxLayout, QWidget

from .face_preview import FacePreview, bundled_face_animator
from .face_view import CAMERA_PRESETS, FaceView

PRESET_LABELS = {"front": "Front", "three-quarter": "¾", "profile": "Side"}


class FacePane(QWidget):
    emotionToggled = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.view = FaceView()
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        self.preset_buttons = QButtonGroup(self)
        for preset in CAMERA_PRESETS:
            button = QToolButton()
            button.setText(PRESET_LABELS[preset])
            button.setToolTip(f"Camera: {preset.replace('-', ' ')} view (drag to orbit, wheel to zoom, "
                              "middle-drag to pan)")
            button.clicked.connect(lambda _=False, name=preset: self.view.set_camera(name))
            self.preset_buttons.addButton(button)
            bar.addWidget(button)
        bar.addStretch(1)
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


@lru_cache(maxsize=1)
def bundled_face_rig():
    """The ICT-FaceKit rig, read once per process (2 MB; every window shares it)."""
    from emotrack.core.face_rig import load_face_rig

    return load_face_rig()


class FaceDocks(QObject):
    """The face's part of a main window: the Face dock and the preview behind it.

    The window docks what this builds and forwards three things: the document
    (:meth:`set_document`), the playhead (:meth:`set_time`) and closing (:meth:`shutdown`).
    """

    def __init__(self, window, loader=bundled_face_animator) -> None:
        super().__init__(window)
        self.window = window
        self.pane = FacePane()
        self.preview = FacePreview(self.pane.view, loader, self)
        self.preview.set_mesh(bundled_face_rig())
        self.pane.emotionToggled.connect(self.preview.set_emotion)
        self.preview.status.connect(lambda message: window.statusBar().showMessage(message, 5000))
        self.dock = window._dock("Face", self.pane, Qt.RightDockWidgetArea)

    def set_document(self, project, clip) -> None:
        self.preview.set_document(project, clip)

    def set_time(self, seconds: float) -> None:
        self.preview.set_time(seconds)

    def shutdown(self) -> None:
        self.preview.shutdown()
