"""Fixtures for the Qt layer: a main window with an in-memory QSettings file, a temp
recovery folder, the tiny random-init model and playback through a fake clock/stream."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeStream:
    """Pulls a few buffers on start so tests can check what would reach the speakers."""

    def __init__(self, rate, fill) -> None:
        self.rate, self.fill = rate, fill
        self.started = self.closed = False
        self.pulled: list[np.ndarray] = []

    def pull(self, frames: int = 1600) -> np.ndarray:
        out = np.full((frames, 1), np.nan, np.float32)
        self.fill(out)
        self.pulled.append(out[:, 0].copy())
        return out[:, 0]

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def streams() -> list[FakeStream]:
    return []


@pytest.fixture
def make_window(qtbot, tmp_path, tiny_emotion_model_dir, tiny_face_loader, clock, streams):
    from emotrack.ui.main_window import MainWindow
    from emotrack.ui.playback import Player

    def factory(rate, fill):
        stream = FakeStream(rate, fill)
        streams.append(stream)
        return stream

    def make(**kwargs):
        # Tests that want quality scores pass a tiny model; the bundled one would add an
        # undo step (and seconds) to every analysis.
        kwargs.setdefault("quality_model_dir", tmp_path / "no-quality-model")
        kwargs.setdefault("face_loader", tiny_face_loader)
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
        window = MainWindow(settings=settings, recovery_dir=tmp_path / "recovery",
                            player=Player(stream_factory=factory, clock=clock),
                            model_dir=tiny_emotion_model_dir, autosave_seconds=3600, **kwargs)
        window.ask_unsaved = lambda: "discard"
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        return window

    return make


@pytest.fixture
def window(make_window):
    return make_window()


def wait_idle(qtbot, window, timeout: int = 30_000) -> None:
    """Until the window has finished opening a file and any analysis."""
    qtbot.waitUntil(lambda: window.loader is None and window.worker is None, timeout=timeout)


@pytest.fixture
def idle(qtbot):
    return lambda window: wait_idle(qtbot, window)


@pytest.fixture
def analysed(qtbot, window, tone_wav):
    assert window.open_path(tone_wav)
    wait_idle(qtbot, window)
    assert window.project.keyframes, window.last_error
    return window
