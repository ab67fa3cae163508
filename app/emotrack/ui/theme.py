"""Dark and light themes: a Fusion palette for widgets and matching plot colours."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

# One colour per emotion, chosen to be distinguishable on dark and light backgrounds.
EMOTION_COLOURS: dict[str, str] = {
    "anger": "#e5484d",
    "disgust": "#46a758",
    "fear": "#8e4ec6",
    "joy": "#f5b400",
    "neutral": "#9aa0a6",
    "sadness": "#3e8ed0",
}
_EXTRA_COLOURS = ("#d6409f", "#12a594", "#f76b15", "#978365")


def label_colour(name: str, index: int) -> str:
    return EMOTION_COLOURS.get(name, _EXTRA_COLOURS[index % len(_EXTRA_COLOURS)])


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    text: str
    plot_background: str
    plot_foreground: str
    grid_alpha: float
    waveform: str
    playhead: str
    key: str
    key_locked: str
    key_selected: str
    accent: str


DARK = Theme("dark", window="#2b2d31", base="#1e1f22", text="#dfe1e5",
             plot_background="#1b1c1f", plot_foreground="#a0a4ab", grid_alpha=0.15,
             waveform="#5f9ea0", playhead="#ff5c5c", key="#c8ccd2", key_locked="#f5a623",
             key_selected="#ffffff", accent="#3d8fd1")
LIGHT = Theme("light", window="#eceef1", base="#ffffff", text="#1f2328",
              plot_background="#fafbfc", plot_foreground="#4b5058", grid_alpha=0.2,
              waveform="#2f7f86", playhead="#d62d2d", key="#4b5058", key_locked="#d9822b",
              key_selected="#0b66c3", accent="#0b66c3")
THEMES = {"dark": DARK, "light": LIGHT}


def apply_theme(app: QApplication, theme: Theme) -> None:
    app.setStyle("Fusion")
    p = QPalette()
    window, base, text = QColor(theme.window), QColor(theme.base), QColor(theme.text)
    p.setColor(QPalette.Window, window)
    p.setColor(QPalette.WindowText, text)
    p.setColor(QPalette.Base, base)
    p.setColor(QPalette.AlternateBase, window)
    p.setColor(QPalette.ToolTipBase, base)
    p.setColor(QPalette.ToolTipText, text)
    p.setColor(QPalette.Text, text)
    p.setColor(QPalette.Button, window)
    p.setColor(QPalette.ButtonText, text)
    p.setColor(QPalette.Highlight, QColor(theme.accent))
    p.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.PlaceholderText, QColor(theme.plot_foreground))
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        p.setColor(QPalette.Disabled, role, QColor(theme.plot_foreground).darker(130))
    app.setPalette(p)
