"""Record a take from the microphone, behind an injectable input stream.

``Recorder`` collects float32 mono blocks at 16 kHz from a stream made by its factory
(``sounddevice`` by default; tests pass a fake and push blocks themselves). The dialog
shows elapsed time and level, then saves a WAV that the window opens and analyses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QProgressBar, QPushButton, QWidget,
)

from .playback import AudioStream

RECORD_RATE = 16_000
# (sample_rate, callback(block: ndarray[frames])) -> stream
InputFactory = Callable[[int, Callable[[np.ndarray], None]], AudioStream]


def sounddevice_input(sample_rate: int, push: Callable[[np.ndarray], None]) -> AudioStream:
    try:
        import sounddevice as sd
    except OSError as error:
        raise RuntimeError(f"no audio input: PortAudio is not available ({error})") from error
    try:
        sd.query_devices(kind="input")
        return sd.InputStream(samplerate=sample_rate, channels=1, dtype="float32",
                              callback=lambda data, frames, t, status: push(data[:, 0].copy()))
    except Exception as error:  # noqa: BLE001 - PortAudioError, ValueError: no device
        raise RuntimeError(f"no audio input device ({error})") from error


class Recorder(QObject):
    error = Signal(str)
    recordingChanged = Signal(bool)

    def __init__(self, factory: InputFactory = sounddevice_input, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._stream: AudioStream | None = None
        self._blocks: list[np.ndarray] = []
        self._started = 0.0

    @property
    def recording(self) -> bool:
        return self._stream is not None

    def push(self, block: np.ndarray) -> None:  # audio thread; list.append is atomic
        self._blocks.append(np.asarray(block, dtype=np.float32).reshape(-1))

    def start(self) -> bool:
        if self.recording:
            return True
        self._blocks = []
        try:
            stream = self._factory(RECORD_RATE, self.push)
            stream.start()
        except RuntimeError as error:
            self.error.emit(str(error))
            return False
        self._stream, self._started = stream, time.monotonic()
        self.recordingChanged.emit(True)
        return True

    def stop(self) -> np.ndarray:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # noqa: BLE001
                pass
            self.recordingChanged.emit(False)
        return self.samples()

    def samples(self) -> np.ndarray:
        blocks = list(self._blocks)
        return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)

    @property
    def seconds(self) -> float:
        return sum(len(b) for b in list(self._blocks)) / RECORD_RATE

    def level(self) -> float:
        """Peak of the latest block (0..1), for the meter."""
        return float(np.max(np.abs(self._blocks[-1]))) if self._blocks else 0.0


class RecordDialog(QDialog):
    """Record, stop, save as WAV. ``saved_path`` is set when the take was written."""

    def __init__(self, parent: QWidget, directory: str, factory: InputFactory = sounddevice_input) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record Take")
        self.recorder = Recorder(factory, self)
        self.saved_path: Path | None = None
        name = f"take-{datetime.now():%Y%m%d-%H%M%S}.wav"
        self.path_edit = QLineEdit(str(Path(directory) / name))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.record_button = QPushButton("● Record")
        self.record_button.setCheckable(True)
        self.record_button.toggled.connect(self._toggle)
        self.elapsed = QLabel("0.0 s")
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.Save).setEnabled(False)
        form = QFormLayout(self)
        form.addRow(self.record_button, self.elapsed)
        form.addRow("Level", self.meter)
        form.addRow("Save as", row)
        form.addRow(self.message)
        form.addRow(self.buttons)
        self.recorder.error.connect(self._on_error)
        self.timer = QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self.refresh)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save take", self.path_edit.text(), "WAV (*.wav)")
        if path:
            self.path_edit.setText(path)

    def _on_error(self, message: str) -> None:
        self.message.setText(message)
        self.record_button.setChecked(False)

    def _toggle(self, on: bool) -> None:
        if on:
            if self.recorder.start():
                self.record_button.setText("■ Stop")
                self.message.setText("")
                self.timer.start()
        else:
            self.recorder.stop()
            self.timer.stop()
            self.record_button.setText("● Record")
            self.refresh()

    def refresh(self) -> None:
        self.elapsed.setText(f"{self.recorder.seconds:.1f} s")
        self.meter.setValue(int(100 * min(self.recorder.level(), 1.0)))
        has_take = not self.recorder.recording and self.recorder.seconds > 0
        self.buttons.button(QDialogButtonBox.Save).setEnabled(has_take)

    def save(self) -> None:
        from emotrack.errors import EmotrackError
        from emotrack.io.audio import save_audio

        samples = self.recorder.stop()
        if len(samples) == 0:
            self.message.setText("Nothing recorded yet")
            return
        path = Path(self.path_edit.text())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_audio(path, samples, RECORD_RATE)
        except (EmotrackError, OSError) as error:
            self.message.setText(f"Cannot save {path.name}: {error}")
            return
        self.saved_path = path
        self.accept()

    def reject(self) -> None:
        self.recorder.stop()
        super().reject()
