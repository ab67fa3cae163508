"""Audio playback behind a small interface, so tests inject a clock and a fake stream.

``Player`` owns the position; the audio stream only pulls samples. The position shown
on screen comes from the clock (``start position + elapsed``), polled by a timer, so a
fake clock drives the playhead in tests and no real pacing is needed. The timer polls at
~66 Hz so that a 60 fps face preview gets every frame, and the position lags the clock
by the output stream's latency, so what is drawn is what is being heard. Without a sound
device (no card, no PortAudio) ``play`` emits ``error`` with a one-line message and
stays stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal


class AudioStream(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


# (sample_rate, callback(out: ndarray[frames, 1])) -> stream
StreamFactory = Callable[[int, Callable[[np.ndarray], None]], AudioStream]


def sounddevice_stream(sample_rate: int, fill: Callable[[np.ndarray], None]) -> AudioStream:
    """A PortAudio output stream; raises RuntimeError with a readable reason if none."""
    try:
        import sounddevice as sd
    except OSError as error:  # libportaudio missing
        raise RuntimeError(f"no audio output: PortAudio is not available ({error})") from error
    try:
        sd.query_devices(kind="output")
        return sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32",
                               callback=lambda out, frames, t, status: fill(out))
    except Exception as error:  # noqa: BLE001 - PortAudioError, ValueError: no device
        raise RuntimeError(f"no audio output device ({error})") from error


class Player(QObject):
    positionChanged = Signal(float)
    playingChanged = Signal(bool)
    error = Signal(str)

    def __init__(self, stream_factory: StreamFactory = sounddevice_stream,
                 clock: Callable[[], float] = time.monotonic, interval_ms: int = 15,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = stream_factory
        self._clock = clock
        self._samples = np.zeros(0, dtype=np.float32)
        self._rate = 16_000
        self._stream: AudioStream | None = None
        self._start_pos = 0.0
        self._start_clock = 0.0
        self._read = 0  # next sample the stream pulls
        self._position = 0.0
        self._latency = 0.0  # the output stream's latency (s), from sounddevice
        self.loop: tuple[float, float] | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)

    # --- state --------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._stream is not None

    @property
    def duration(self) -> float:
        return len(self._samples) / self._rate

    @property
    def position(self) -> float:
        return self._position

    def set_audio(self, samples: np.ndarray | None, sample_rate: int = 16_000) -> None:
        self.stop()
        self._samples = np.zeros(0, np.float32) if samples is None else np.asarray(samples, np.float32)
        self._rate = sample_rate
        self.seek(0.0)

    # --- transport ----------------------------------------------------------------
    def play(self) -> None:
        if self.playing or len(self._samples) == 0:
            return
        if self._position >= self.duration:
            self._position = self.loop[0] if self.loop else 0.0
        self._read = int(self._position * self._rate)
        try:
            stream = self._factory(self._rate, self._fill)
            stream.start()
        except RuntimeError as error:
            self.error.emit(str(error))
            return
        self._stream = stream
        # What the stream pulls now is heard this much later: the playhead (and the face
        # it drives) waits for it, so picture and sound stay in sync.
        latency = getattr(stream, "latency", 0.0)
        self._latency = float(latency) if isinstance(latency, (int, float)) and 0 <= latency < 2 else 0.0
        self._start_pos, self._start_clock = self._position, self._clock()
        self.timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if not self.playing:
            return
        self.tick()
        stream, self._stream = self._stream, None
        self.timer.stop()
        try:
            stream.stop()
            stream.close()
        except Exception:  # noqa: BLE001 - a dying device must not take the app down
            pass
        self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def stop(self) -> None:
        self.pause()
        self.seek(self.loop[0] if self.loop else 0.0)

    def seek(self, seconds: float) -> None:
        self._position = float(min(max(seconds, 0.0), self.duration))
        self._read = int(self._position * self._rate)
        self._start_pos, self._start_clock = self._position, self._clock()
        self.positionChanged.emit(self._position)

    def set_loop(self, region: tuple[float, float] | None) -> None:
        self.loop = region if region and region[1] > region[0] else None

    def tick(self) -> None:
        """Advance the position from the clock (timer-driven; tests call it directly)."""
        if not self.playing:
            return
        position = self._start_pos + max(0.0, self._clock() - self._start_clock - self._latency)
        if self.loop and position >= self.loop[1]:
            self.seek(self.loop[0])
            return
        if position >= self.duration:
            self._position = self.duration
            self.positionChanged.emit(self._position)
            self.pause()
            return
        self._position = position
        self.positionChanged.emit(position)

    def _fill(self, out: np.ndarray) -> None:  # audio thread
        frames = len(out)
        start = self._read
        end = len(self._samples)
        if self.loop:
            end = min(end, int(self.loop[1] * self._rate))
        chunk = self._samples[start:min(start + frames, end)]
        out[: len(chunk), 0] = chunk
        out[len(chunk):, 0] = 0.0
        self._read = start + len(chunk)
        if self.loop and self._read >= end:
            self._read = int(self.loop[0] * self._rate)
