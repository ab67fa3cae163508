"""``emotrack [AUDIO|PROJECT]``: start the GUI on a file (the bundled sample by default)."""

from __future__ import annotations

import sys
from pathlib import Path


def create_window(argv: list[str]):
    """The application and its main window, showing ``argv[0]`` (or the sample clip)."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=False, foreground="#a0a4ab")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Emotrack")
    app.setOrganizationName("Emotrack")

    from emotrack.resources import sample_clip_path

    from .main_window import MainWindow

    window = MainWindow()
    window.set_theme(str(window.settings.value("theme", "dark")))
    window.show()
    if not window.offer_recovery():
        target = Path(argv[0]) if argv else sample_clip_path()
        if target.exists():
            window.open_path(target)
        elif argv:
            window.show_error(f"No such file: {target}")
        else:
            window.statusBar().showMessage("Open a voice recording (Ctrl+O) or drop one here")
    return app, window


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    app, _window = create_window(argv)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
