"""Main-window screenshot of the real product: the bundled models on the bundled sample
clip (emotion analysis, quality lane, a key selected at the playhead).

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshot_sample.py docs/screenshot-quality.png
        [--model fast]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))


def main(out: Path, model: str | None = None, timeout_s: float = 120.0) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from emotrack.resources import resource_path
    from emotrack.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    window = MainWindow(settings=QSettings(str(tmp / "settings.ini"), QSettings.IniFormat),
                        recovery_dir=tmp / "recovery", autosave_seconds=3600, model_dir=model)
    window.resize(1600, 900)
    window.show()
    window.open_path(resource_path("samples", "sample_voice.flac"))

    def done() -> bool:  # opened, analysed and scored
        project = window.project
        return (window.loader is None and window.worker is None
                and window.quality.worker is None and project is not None
                and bool(project.keyframes) and project.quality is not None)

    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            print(f"timed out: {window.last_error or 'analysis did not finish'}", file=sys.stderr)
            return 1
        app.processEvents()
        time.sleep(0.01)
    key = window.project.keyframes[len(window.project.keyframes) // 2]
    window.selection.set([key.id])
    window.player.seek(key.time)
    app.processEvents()
    window.grab().save(str(out))
    print(f"saved {out}")
    window.ask_unsaved = lambda: "discard"
    window.close()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--model", default=None, help="emotion model: accurate (default), fast or a folder")
    args = parser.parse_args()
    raise SystemExit(main(args.out, args.model))
