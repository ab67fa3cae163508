"""Save and load Emotrack's own torch models as a folder: ``config.json`` (the model's
config as a dict) + ``model.safetensors`` (its state dict), the layout of transformers'
``save_pretrained``, so bundled models look and load alike."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from emotrack.errors import ModelError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

ModelT = TypeVar("ModelT", bound=nn.Module)
ConfigT = TypeVar("ConfigT", bound="DataclassConfig")


class DataclassConfig:
    """``to_dict`` / ``from_dict`` for a model config that is a dataclass.

    ``from_dict`` ignores keys it does not know (a config written by a newer Emotrack
    still loads) and turns JSON lists back into tuples.
    """

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[ConfigT], values: dict) -> ConfigT:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v
                      for k, v in values.items() if k in known})


def save_checkpoint(model: nn.Module, config: dict, directory: str | Path, half: bool = False) -> None:
    """``half``: store floating-point weights as fp16 (what ships; loading casts them
    back); the model in memory is left as it was."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    save_file(state, str(directory / WEIGHTS_NAME))


def load_checkpoint(build: Callable[[dict], ModelT], directory: str | Path, what: str,
                    device: str | torch.device = "cpu") -> ModelT:
    """``build(config_dict)`` makes the model; its weights come from the folder.

    Every way a folder can be wrong (missing files, a config or weights that do not fit)
    becomes one ``ModelError`` naming ``what`` ("quality model") and the folder.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    if not config_path.is_file() or not weights_path.is_file():
        raise ModelError(f"{what} directory {directory} lacks {CONFIG_NAME} or {WEIGHTS_NAME}")
    try:
        model = build(json.loads(config_path.read_text()))
        model.load_state_dict(load_file(str(weights_path)))
    except (ValueError, RuntimeError, TypeError, OSError, SafetensorError) as error:
        raise ModelError(f"{what} in {directory} is unusable: {error}") from error
    return model.to(device).eval()


def save_training_state(path: str | Path, state: dict) -> None:
    """``torch.save`` a resumable training state, written beside ``path`` and renamed
    over it, so a run killed mid-save still has its previous state to resume from."""
    path = Path(path)
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    partial.replace(path)
