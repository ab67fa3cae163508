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


# The bundled emotion models by name, as folders under models/. Both listen with the
# Whisper base encoder of models/emotion: the accurate one (the default) reads its layers
# 1-4, the fast one only its first two, through the heads in models/emotion/fast/.
BUNDLED_EMOTION_MODELS: dict[str, str] = {"accurate": "emotion", "fast": "emotion/fast"}
DEFAULT_EMOTION_MODEL = "accurate"

# The heads a Whisper emotion model folder may hold beside its checkpoint.
PLAIN_FOLDER = "plain"  # replaces the checkpoint's own head
ACTOR_FOLDER = "actor"  # reads windows against an actor's reference


def default_emotion_model_dir() -> Path:
    return emotion_model_dir(None)


def emotion_model_dir(name_or_path: str | Path | None) -> Path:
    """The folder of a bundled model named in ``BUNDLED_EMOTION_MODELS`` ("accurate",
    "fast"), or ``name_or_path`` itself as a folder; None is the default model. Its
    heads (``plain/``, ``actor/``) lie in it; its checkpoint in :func:`checkpoint_dir`."""
    key = DEFAULT_EMOTION_MODEL if name_or_path is None else str(name_or_path)
    if key in BUNDLED_EMOTION_MODELS:
        return resource_path("models", *BUNDLED_EMOTION_MODELS[key].split("/"))
    return Path(name_or_path)


def is_heads_folder(folder: Path) -> bool:
    """Whether ``folder`` holds only heads (a ``plain/`` head, perhaps an ``actor/`` one)
    for the checkpoint of the folder it lies in, as the bundled fast model does: another
    reading of the same encoder, without a second copy of its weights."""
    return (not (folder / "config.json").is_file() and (folder / PLAIN_FOLDER).is_dir()
            and (folder.parent / "config.json").is_file())


def checkpoint_dir(model_dir: str | Path) -> Path:
    """The checkpoint folder (config.json, weights) of emotion model folder ``model_dir``:
    the folder itself, or the one it lies in when it is a heads folder."""
    folder = Path(model_dir)
    return folder.parent if is_heads_folder(folder) else folder


def sample_clip_path() -> Path:
    return resource_path("samples", "sample_voice.flac")
