"""Where bundled resources (models, samples, icons, face asset) live.

Resources sit in the top-level ``resources/`` folder of the checkout. A frozen build
(PyInstaller) or a packager may put them elsewhere and point ``EMOTRACK_RESOURCES`` at it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    override = os.environ.get("EMOTRACK_RESOURCES")
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    # app/emotrack/resources.py -> project root
    return Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def default_emotion_model_dir() -> Path:
    return resource_path("models", "emotion")


def sample_clip_path() -> Path:
    return resource_path("samples", "sample_voice.flac")
