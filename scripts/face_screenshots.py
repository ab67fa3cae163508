"""Screenshots of the main window with the face, one per emotion, on the bundled sample,
and a contact sheet of the six faces (``face-emotions.png``).

The sample is analysed with the bundled accurate model and the face is the bundled
network, as in the app. Each emotion is then directed the way an animator would: the
prior emotion (Emotion Controls) set to it at strength 0.9, blended into the inferred
curves; the playhead stays on the same voiced frame, so only the emotion differs.

    PYTHONPATH=app QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" \\
        .venv/bin/python scripts/face_screenshots.py --out docs
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs")
    parser.add_argument("--time", type=float, default=None, help="playhead (s); default: a frame with the mouth open")
    parser.add_argument("--size", default="1440x820")
    args = parser.parse_args()

    import numpy as np
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    from emotrack.core import commands
    from emotrack.core.emotions import EMOTIONS
    from emotrack.core.face_arkit import ARKIT_NAMES
    from emotrack.resources import sample_clip_path
    from emotrack.ui.main_window import MainWindow
    from emotrack.ui.playback import Player

    folder = Path(tempfile.mkdtemp())
    window = MainWindow(settings=QSettings(str(folder / "s.ini"), QSettings.IniFormat), recovery_dir=folder / "r",
                        player=Player(stream_factory=lambda rate, fill: None), auto_quality=False)
    window.ask_unsaved = lambda: "discard"
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    window.resizeDocks([window.face.dock], [int(width * 0.3)], Qt.Horizontal)
    window.resizeDocks([window.face.dock], [int(height * 0.62)], Qt.Vertical)
    preview = window.face.preview
    window.open_path(sample_clip_path())
    end = time.monotonic() + 300
    while not (window.worker is None and window.loader is None and window.project is not None
               and window.project.keyframes and preview.track is not None and preview.track_worker is None):
        if time.monotonic() > end:
            raise TimeoutError("analysis did not finish")
        app.processEvents()
        time.sleep(0.01)

    jaw = preview.track[:, ARKIT_NAMES.index("jawOpen")]
    at = args.time if args.time is not None else float(np.argsort(jaw)[int(0.8 * len(jaw))] / window.project.fps)
    window.player.seek(at)
    base = window.project.heuristics
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    faces = []
    for emotion in EMOTIONS:
        window.push(commands.change_heuristics(window.project, replace(
            base, prior_enabled=True, prior_emotion=emotion, prior_strength=0.9)))
        window.controls.set_project(window.project)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)
        path = out / f"face-{emotion}.png"
        window.grab().save(str(path))
        faces.append(window.face.pane.view.render_image())
        print(f"wrote {path} (playhead {at:.2f} s)")
    sheet = out / "face-emotions.png"
    contact_sheet(faces, EMOTIONS).save(str(sheet))
    print(f"wrote {sheet}")
    window.close()


def contact_sheet(images, labels, columns: int = 3):
    """The face views side by side, each labelled, in one image."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QImage, QPainter

    width, height = images[0].width(), images[0].height()
    rows = -(-len(images) // columns)
    sheet = QImage(width * columns, height * rows, QImage.Format_RGB32)
    sheet.fill(QColor(46, 48, 54))
    painter = QPainter(sheet)
    painter.setPen(Qt.white)
    for index, (image, label) in enumerate(zip(images, labels)):
        x, y = (index % columns) * width, (index // columns) * height
        painter.drawImage(x, y, image)
        painter.drawText(x + 10, y + 20, label)
    painter.end()
    return sheet


if __name__ == "__main__":
    main()
