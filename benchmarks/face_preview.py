"""The face preview in the real main window: frames/s during playback, edit-to-face
latency, and audio/face sync over a long clip.

1. Playback: every iteration moves the playhead on by one animation frame (the Face
   dock poses the frame under it) and repaints the GL view synchronously. Frames/s =
   distinct frames posed and repainted per wall-clock second.
2. Edit latency: a Face Controls slider step (lower-face strength) and an emotion
   strength step, each timed from the widget change to the face view repainted
   (the frame is computed on the spot; the whole-clip track follows in a thread).
3. Sync: at playhead positions spread over the clip, the face's frame time minus the
   playhead (at most half a frame by construction: the frame is chosen from the
   playhead, not counted).

The clip is the bundled sample repeated to ``--minutes`` (default 10), analysed with
the bundled accurate model; the face is the bundled network. Run under Xvfb:

    PYTHONPATH=app QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" \\
        .venv/bin/python benchmarks/face_preview.py [--minutes 10] [--size 480x560]

Goals (issue 10): >= 60 frames/s and <= 16 ms from an edit to the face redrawn.
Under Xvfb the GL is Mesa's software rasteriser on the CPU: the script prints the GL
renderer and splits each figure into the CPU part (weights, mesh, normals) and the rest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))


class NullStream:
    """An audio stream that plays nothing: the benchmark times the picture, not the sound."""

    def __init__(self, rate, fill) -> None:
        pass

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


def long_clip(minutes: float, folder: Path) -> Path:
    import soundfile as sf

    from emotrack.io.audio import load_audio
    from emotrack.resources import sample_clip_path

    sample = load_audio(sample_clip_path()).samples
    repeats = int(np.ceil(minutes * 60 * 16000 / len(sample)))
    path = folder / f"sample_x{repeats}.wav"
    sf.write(path, np.tile(sample, repeats)[: int(minutes * 60 * 16000)], 16000)
    return path


def wait(app, condition, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get ready in time")
        app.processEvents()
        time.sleep(0.005)


def summary(totals: list[float], cpu: list[float]) -> str:
    p95 = sorted(totals)[int(0.95 * (len(totals) - 1))]
    return (f"median {statistics.median(totals):.1f} ms, p95 {p95:.1f} ms "
            f"(of which face weights + mesh: median {statistics.median(cpu):.1f} ms)")


def timed_edits(app, window, view, change, values) -> tuple[list[float], list[float]]:
    """(total ms, CPU-part ms) per edit: widget change -> face view repainted."""
    totals, cpu = [], []
    for value in values:
        start = time.perf_counter()
        change(value)
        view.repaint()
        totals.append((time.perf_counter() - start) * 1e3)
        cpu.append(window.face.preview.last_latency_ms)
        app.processEvents()
    return totals, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--size", default="480x560", help="face view size in pixels, WxH")
    parser.add_argument("--seconds", type=float, default=5.0, help="playback time measured")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch
    from OpenGL import GL
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    torch.set_num_threads(args.threads)
    app = QApplication.instance() or QApplication(sys.argv)
    from emotrack.ui.main_window import MainWindow
    from emotrack.ui.playback import Player

    folder = Path(tempfile.mkdtemp())
    clip_path = long_clip(args.minutes, folder)
    window = MainWindow(settings=QSettings(str(folder / "s.ini"), QSettings.IniFormat), recovery_dir=folder / "r",
                        player=Player(stream_factory=NullStream), auto_quality=False)
    window.ask_unsaved = lambda: "discard"
    window.resize(1600, 900)
    window.show()
    view = window.face.pane.view
    width, height = (int(v) for v in args.size.split("x"))
    window.face.dock.setFloating(True)
    window.face.dock.resize(width, height + 60)
    preview = window.face.preview

    started = time.perf_counter()
    window.open_path(clip_path)
    moments = {}

    def note(name: str, condition) -> bool:
        if name not in moments and condition():
            moments[name] = time.perf_counter() - started
        return name in moments

    wait(app, lambda: all([note("face listened", lambda: preview.ready),
                           note("analysed", lambda: window.project is not None and window.worker is None
                                and window.loader is None and bool(window.project.keyframes)),
                           note("face track", lambda: preview.track is not None and preview.track_worker is None)]),
         900)
    view.makeCurrent()
    renderer = GL.glGetString(GL.GL_RENDERER).decode()
    view.doneCurrent()
    print(f"clip: {args.minutes:g} min, {len(preview.track)} frames at {window.project.fps} fps; seconds after "
          "opening: " + ", ".join(f"{name} {at:.1f}" for name, at in moments.items()))
    print(f"GL renderer: {renderer}; view {view.width()}x{view.height()} px; {os.cpu_count()} CPUs, "
          f"torch threads {args.threads}; mesh {len(window.face.preview.mesh.neutral)} vertices, "
          f"{len(window.face.preview.mesh.triangles)} triangles")

    # 1. Playback frames/s: the playhead steps one animation frame per iteration, so every
    #    iteration poses a new frame (the preview skips ticks that stay within a frame).
    fps = window.project.fps
    position, frames, pose_ms = 60.0, 0, []
    end = time.perf_counter() + args.seconds
    while time.perf_counter() < end:
        tick = time.perf_counter()
        window.player.seek(position)
        pose_ms.append((time.perf_counter() - tick) * 1e3)
        view.repaint()
        frames += 1
        position += 1 / fps
    print(f"playback: {frames / args.seconds:.1f} distinct frames/s posed and repainted; CPU part "
          f"(playhead -> posed mesh) median {statistics.median(pose_ms):.1f} ms")

    # 2. Edit -> face redrawn.
    window.player.seek(61.3)
    app.processEvents()
    row = window.face.controls.rows["lower_strength"]
    totals, cpu = timed_edits(app, window, view, row.slider.setValue, [480 - 5 * i for i in range(30)])
    print("face control slider step -> face redrawn: " + summary(totals, cpu))
    from emotrack.core.emotions import EMOTIONS

    slider = window.controls.strength_sliders[EMOTIONS.index("joy")]
    totals, cpu = timed_edits(app, window, view, slider.setValue, [90 - i for i in range(30)])
    print("emotion strength slider step -> curves and face redrawn: " + summary(totals, cpu))
    wait(app, lambda: preview.track is not None and preview.track_worker is None, 120)

    # 3. Sync over the clip.
    errors = []
    for position in np.linspace(0, window.project.duration - 0.01, 41):
        window.player.seek(float(position))
        errors.append(abs(preview.time_shown - position))
    print(f"sync: face frame vs playhead over {window.project.duration / 60:.1f} min: max "
          f"{max(errors) * 1e3:.1f} ms (half a frame is {500 / window.project.fps:.1f} ms)")
    window.close()


if __name__ == "__main__":
    main()
