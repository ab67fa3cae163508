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


# The bundled emotion models by name: the accurate one (Whisper base encoder, the
# default) and the fast one (a small wav2vec2 trained from scratch).
BUNDLED_EMOTION_MODELS: dict[str, str] = {"accurate": "emotion", "fast": "emotion-fast"}
DEFAULT_EMOTION_MODEL = "accurate"


def default_emotion_model_dir() -> Path:
    return emotion_model_dir(None)


def emotion_model_dir(name_or_path: str | Path | None) -> Path:
    """The folder of a bundled model named in ``BUNDLED_EMOTION_MODELS`` ("accurate",
    "fast"), or ``name_or_path`` itself as a folder; None is the default model."""
    key = DEFAULT_EMOTION_MODEL if name_or_path is None else str(name_or_path)
    if key in BUNDLED_EMOTION_MODELS:
        return resource_path("models", BUNDLED_EMOTION_MODELS[key])
    return Path(name_or_path)


def sample_clip_path() -> Path:
    return resource_path("samples", "sample_voice.flac")
