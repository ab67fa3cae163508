"""The app gets the CLI's guarantees (issue 14): opening one input of each fuzz family
(a corrupt WAV, a header that lies, a tiny clip, a non-audio file, a FIFO, a truncated
project, a project with NaN) shows the one-sentence error naming the file and the
problem, never crashes, and the window still opens a good file afterwards."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
import soundfile as sf

from emotrack.core import commands as C
from emotrack.core.document import Project
from emotrack.core.project_file import save_project


def wait_idle(qtbot, window, timeout: int = 30_000) -> None:
    qtbot.waitUntil(lambda: window.loader is None and window.worker is None, timeout=timeout)


def _voice(n: int) -> np.ndarray:
    return (0.3 * np.sin(np.arange(n) * 2 * np.pi * 200 / 16_000)).astype(np.float32)


def corrupt_wav(folder):
    path = folder / "corrupt.wav"
    sf.write(path, _voice(16_000), 16_000)
    data = bytearray(path.read_bytes())
    data[0:4] = b"RIFX"  # big-endian RIFF claim over little-endian data
    data[8:16] = b"\x00" * 8
    path.write_bytes(bytes(data[:200]))
    return path, ["corrupt.wav"]


def lying_header(folder):
    path = folder / "lying.wav"
    sf.write(path, _voice(16_000), 16_000)
    data = bytearray(path.read_bytes())
    data[24:28] = struct.pack("<I", 10_000_000)  # a 10 MHz sample rate
    path.write_bytes(bytes(data))
    return path, ["lying.wav", "sample rate"]


def tiny_clip(folder):
    path = folder / "tiny.wav"
    sf.write(path, _voice(3), 16_000)
    return path, ["tiny.wav", "too short"]


def non_audio(folder):
    path = folder / "picture.mp3"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))
    return path, ["picture.mp3"]


def fifo(folder):
    path = folder / "pipe.wav"
    os.mkfifo(path)
    return path, ["pipe.wav", "FIFO"]


def _project(folder) -> dict:
    project = Project()
    C.add_keyframe(project, 0.0)[0].redo(project)
    return json.loads(save_project(project, folder / "tmp.emotrack").read_text())


def truncated_project(folder):
    path = folder / "cut.emotrack"
    text = json.dumps(_project(folder))
    path.write_text(text[: len(text) // 2])
    return path, ["cut.emotrack"]


def nan_project(folder):
    path = folder / "nan.emotrack"
    data = _project(folder)
    data["keyframes"][0]["time"] = float("nan")
    path.write_text(json.dumps(data))
    return path, ["nan.emotrack", "NaN"]


@pytest.mark.parametrize("make_input", [corrupt_wav, lying_header, tiny_clip, non_audio, fifo, truncated_project,
                                        nan_project])
def test_opening_a_bad_input_shows_one_sentence_and_the_window_still_works(window, qtbot, tmp_path, tone_wav,
                                                                          make_input):
    path, words = make_input(tmp_path)
    assert window.open_path(path)
    wait_idle(qtbot, window)
    message = window.last_error
    assert message and "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message, message
    assert window.project is None or not window.project.keyframes
    # The window survives: a good file opens and analyses afterwards.
    window.last_error = ""
    assert window.open_path(tone_wav)
    wait_idle(qtbot, window)
    assert window.project is not None and window.project.keyframes, window.last_error
