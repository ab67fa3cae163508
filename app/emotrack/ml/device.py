"""Choosing the torch device, and mixed precision where it pays off.

fp16 autocast speeds up inference on CUDA; on CPU it is slower than fp32 (and bf16
changes results noticeably for small models), so CPU always stays fp32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from emotrack.errors import ParameterError


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """The device for ``name``: "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:N".

    Raises ParameterError for an unknown name or a CUDA device that is not there, so the
    user learns at once rather than from a CUDA stack trace mid-analysis.
    """
    if isinstance(name, torch.device):
        name = str(name)
    key = (name or "auto").strip().lower()
    if key == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(key)
    except RuntimeError:
        raise ParameterError(
            f"unknown device {name!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'"
        ) from None
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise ParameterError(f"unsupported device {name!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if not torch.cuda.is_available():
        raise ParameterError(
            f"device {name!r} was requested but CUDA is not available; use 'cpu' or 'auto'"
        )
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise ParameterError(
            f"device {name!r} does not exist: {count} CUDA device(s), numbered 0 to {count - 1}"
        )
    return device


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """fp16 autocast on CUDA; a no-op on CPU (which stays fp32)."""
    if device.type == "cuda":
        with torch.autocast(device_type="cuda", dtype=torch.float16):
            yield
    else:
        yield
