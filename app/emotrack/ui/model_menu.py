"""Analysis → Emotion Model: the bundled models by name, or a checkpoint folder.

The menu only reports the user's choice (``modelChosen``); the main window decides what
a new model means for the open project (it re-runs the analysis).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog, QMenu

from emotrack.resources import BUNDLED_EMOTION_MODELS, DEFAULT_EMOTION_MODEL

# Menu text and tooltip of each bundled model, in menu order.
_BUNDLED_TEXT = {
    "accurate": ("&Accurate (Whisper base encoder)",
                 "Fine-tuned Whisper base encoder: the most accurate on voices it never heard"),
    "fast": ("&Fast (Whisper base, first two layers)",
             "The same encoder read at its second layer: about twice as fast, less accurate"),
}


class EmotionModelMenu(QMenu):
    modelChosen = Signal(str)  # a bundled model's name, or a checkpoint folder

    def __init__(self, parent=None) -> None:
        super().__init__("Emotion &Model", parent)
        self.setToolTipsVisible(True)
        self.group = QActionGroup(self)
        self.bundled: dict[str, QAction] = {}
        for name in BUNDLED_EMOTION_MODELS:
            text, tip = _BUNDLED_TEXT.get(name, (name, ""))
            action = self._choice(text, tip)
            action.triggered.connect(lambda _checked=False, name=name: self.modelChosen.emit(name))
            self.bundled[name] = action
        self.addSeparator()
        self.custom = self._choice("Other Checkpoint &Folder…",
                                   "A local Hugging Face audio-classification checkpoint "
                                   "(Whisper, wav2vec2, HuBERT, WavLM)")
        self.custom.triggered.connect(self._choose_folder)
        self.current = DEFAULT_EMOTION_MODEL

    def _choice(self, text: str, tip: str) -> QAction:
        action = self.addAction(text)
        action.setCheckable(True)
        action.setToolTip(tip)
        self.group.addAction(action)
        return action

    def show_model(self, model: str | None) -> None:
        """Tick the entry for ``model`` (None: the default) without emitting anything."""
        self.current = model or DEFAULT_EMOTION_MODEL
        action = self.bundled.get(self.current)
        if action is None:
            self.custom.setText(f"Other Checkpoint &Folder… ({Path(self.current).name})")
            action = self.custom
        action.setChecked(True)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.parentWidget(), "Emotion model checkpoint folder")
        if folder:
            self.modelChosen.emit(folder)
        else:
            self.show_model(self.current)  # dialog cancelled: keep the tick where it was
