"""GUI latency of Emotrack's timeline, measured on the real widgets.

1. Edit → curves redrawn, on a 10-minute clip with a keyframe every second (600 keys):
   a strength-slider step (live re-blend of every key) and a keyframe-drag step. Each
   sample is the time from the widget change to the plot's viewport repainted
   synchronously. Target: median ≤ 16 ms.
2. Open and draw a 1-hour 16 kHz WAV (load, waveform pyramid, first paint), in a child
   process so its peak RSS is its own. Target: ≤ 2 s.

Window probabilities are synthetic (smooth random walks) so the figures measure the GUI,
not the network. Run under Xvfb or offscreen:

    PYTHONPATH=app QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_latency.py
    ... benchmarks/gui_latency.py --screenshot docs/screenshot-main-window.png
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from PySide6.QtCore import Qt

RATE = 16_000


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
    syllables = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 0.5
    phrases = (np.sin(2 * np.pi * t / 7.0) > -0.6).astype(np.float32)
    loud = 0.6 + 0.4 * np.sin(2 * np.pi * t / 23.0)
    return (0.3 * voiced * syllables * phrases * loud + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


def synthetic_windows(n_samples: int, window: int = 14_400, hop: int = 7_200, seed: int = 1):
    """Emotion probabilities that drift like a real performance (softmax of random walks)."""
    from emotrack.core.analysis import WindowProbabilities
    from emotrack.core.windowing import window_starts

    starts = np.asarray(window_starts(n_samples, window, hop))
    rng = np.random.default_rng(seed)
    logits = np.cumsum(rng.normal(0, 0.35, (len(starts), 6)), axis=0)
    logits[:, 4] += 1.0  # mostly neutral, like most speech
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return WindowProbabilities(starts=starts, window=window, hop=hop, probabilities=p,
                               n_samples=n_samples, sample_rate=RATE)


def make_window(tmp: Path):
    from PySide6.QtCore import QSettings

    from emotrack.ui.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(tmp / "bench.ini"), QSettings.IniFormat),
                        recovery_dir=tmp / "recovery", auto_analyse=False, autosave_seconds=3600)
    window.ask_unsaved = lambda: "discard"
    window.resize(1600, 900)
    window.show()
    return window


def analysed_window(app, tmp: Path, seconds: float):
    from emotrack.core import commands

    path = tmp / f"clip_{int(seconds)}s.wav"
    sf.write(path, speech_like(seconds), RATE, subtype="PCM_16")
    window = make_window(tmp)
    window.open_path(path)
    wait_loaded(app, window)
    project = window.project
    window.push(commands.apply_analysis(project, synthetic_windows(len(window.clip.samples)),
                                        project.analysis))
    app.processEvents()
    return window


def wait_loaded(app, window) -> None:
    while window.loader is not None:  # decoding runs in a worker thread
        app.processEvents()
        time.sleep(0.002)
    app.processEvents()


def redraw(window) -> None:
    window.timeline.view.viewport().repaint()


def measure(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def edit_latency(app, tmp: Path) -> dict:
    window = analysed_window(app, tmp, 600.0)
    n_keys = len(window.project.keyframes)
    slider = window.controls.strength_sliders[4]
    slider.setSliderDown(True)

    split: dict[str, list[float]] = {"edit": [], "paint": []}

    def slider_step(i: int) -> None:
        t0 = time.perf_counter()
        slider.setValue(100 - (i % 80))  # command: re-blend 600 keys, model events, setData
        t1 = time.perf_counter()
        redraw(window)
        split["edit"].append((t1 - t0) * 1000)
        split["paint"].append((time.perf_counter() - t1) * 1000)

    slider_ms = measure(slider_step, 60)

    def slider_step_event_loop(i: int) -> None:
        slider.setValue(100 - ((i + 7) % 80))
        app.processEvents()  # Qt repaints only the dirty region, as in the running app

    loop_ms = measure(slider_step_event_loop, 60)
    blend_ms = measure(lambda i: window.project.blend(window.project.keyframes), 30)
    slider.setSliderDown(False)

    timeline = window.timeline
    key = window.project.keyframes[300]
    timeline._drag_start(key.time, 1.09, Qt.NoModifier)

    def drag_step(i: int) -> None:
        timeline._drag_move(key.time, 1.09, key.time + 0.04 * (i + 1), 1.09)
        redraw(window)

    drag_ms = measure(drag_step, 60)

    def drag_step_event_loop(i: int) -> None:
        timeline._drag_move(key.time, 1.09, key.time + 2.4 + 0.04 * (i + 1), 1.09)
        app.processEvents()  # only the dirty region, as in the running app

    drag_loop_ms = measure(drag_step_event_loop, 60)
    timeline._drag_finish()
    undo_steps = window.undo_stack.count()
    window.close()
    return {"keys": n_keys, "slider_ms": slider_ms, "drag_ms": drag_ms, "undo_steps": undo_steps,
            "drag_loop_ms": drag_loop_ms,
            "loop_ms": loop_ms, "edit_ms": split["edit"], "paint_ms": split["paint"], "blend_ms": blend_ms}


def open_hour(tmp: Path) -> dict:
    """Child process: write a 1-hour WAV, then time open + first paint; report peak RSS."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    path = tmp / "hour.wav"
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16") as f:
        block = speech_like(60.0)
        for _ in range(60):
            f.write(block)
    del block
    window = make_window(tmp)
    app.processEvents()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    window.open_path(path)
    wait_loaded(app, window)
    redraw(window)
    open_s = time.perf_counter() - t0
    # scrolling a zoomed-in view: pan one screen at a time at 10 s per screen
    timeline = window.timeline
    pan_ms = []
    for i in range(30):
        t1 = time.perf_counter()
        timeline.wave_plot.setXRange(600 + 10 * i, 610 + 10 * i, padding=0)
        redraw(window)
        pan_ms.append((time.perf_counter() - t1) * 1000)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    window.close()
    return {"open_s": open_s, "pan_ms": pan_ms, "peak_rss_mib": peak_kib / 1024,
            "rss_before_open_mib": base_rss / 1024}


def screenshot(app, tmp: Path, out: Path) -> None:
    window = analysed_window(app, tmp, 45.0)
    window.controls.smoothing_check.setChecked(True)
    keys = window.project.keyframes
    window.selection.set([keys[12].id])
    window.player.seek(keys[12].time)
    app.processEvents()
    window.grab().save(str(out))
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", type=Path, help="save a main-window screenshot here and exit")
    parser.add_argument("--child-hour", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_hour:
        print(json.dumps(open_hour(args.child_hour)))
        return 0

    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from emotrack.ui.theme import DARK, apply_theme

    apply_theme(app, DARK)
    pg.setConfigOptions(antialias=False)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.screenshot:
            screenshot(app, tmp, args.screenshot)
            print(f"saved {args.screenshot}")
            return 0
        edits = edit_latency(app, tmp)
        child = subprocess.run([sys.executable, __file__, "--child-hour", str(tmp)],
                               capture_output=True, text=True, env=os.environ.copy())
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return 1
        hour = json.loads(child.stdout.strip().splitlines()[-1])

    def stats(ms: list[float]) -> str:
        return (f"median {statistics.median(ms):6.1f} ms   p90 {np.percentile(ms, 90):6.1f} ms   "
                f"max {max(ms):6.1f} ms")

    print(f"10-minute clip, {edits['keys']} keyframes (target: median ≤ 16 ms)")
    print(f"  strength slider step → event loop repaint:     {stats(edits['loop_ms'])}")
    print(f"  strength slider step → forced full repaint:    {stats(edits['slider_ms'])}")
    print(f"    of which the edit (command + events + setData): {stats(edits['edit_ms'])}")
    print(f"    of which the repaint of the timeline:          {stats(edits['paint_ms'])}")
    print(f"    core Project.blend of 600 keys alone:          {stats(edits['blend_ms'])}")
    print(f"  keyframe drag step   → event loop repaint:     {stats(edits['drag_loop_ms'])}")
    print(f"  keyframe drag step   → forced full repaint:    {stats(edits['drag_ms'])}")
    print(f"  undo steps after analysis + 1 slider drag + 1 key drag: {edits['undo_steps']}")
    print(f"  machine load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("1-hour 16 kHz WAV (target: ≤ 2 s)")
    print(f"  open + waveform + first paint: {hour['open_s']:.2f} s")
    print(f"  peak RSS {hour['peak_rss_mib']:.0f} MiB (before opening: {hour['rss_before_open_mib']:.0f} MiB)")
    print(f"  pan a 10 s view → redrawn: {stats(hour['pan_ms'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
