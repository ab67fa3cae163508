"""Encoder hidden states of a labelled corpus, computed once and kept on disk.

Training a head on a frozen encoder needs each clip's hidden states many times (every
epoch, every setting tried), but computing them is the expensive part: each clip (and
each augmented copy) is encoded once and saved as fp16 ``.npy`` (``[layers + 1,
frames, d_model]``), named by the clip's path and the copy number, so an interrupted
run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from emotrack.ml.emotion.augment import augment
from emotrack.ml.emotion.data import LabelledClip
from emotrack.ml.whisper.encoder import WhisperClipEncoder


def cache_path(cache_dir: Path, clip: LabelledClip, copy: int) -> Path:
    key = hashlib.sha1(str(Path(clip.path).resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"{key}-{copy}.npy"


@torch.inference_mode()
def encode_corpus(encoder: WhisperClipEncoder, clips: Sequence[LabelledClip], cache_dir: Path,
                  copies: int, seed: int = 0, babble_pool: Sequence[np.ndarray] = (),
                  log: Callable[[str], None] = print) -> None:
    """Ensure every clip has ``copies`` cached encodings: copy 0 is the clip as recorded,
    copies 1.. are augmented (deterministic per clip, copy and seed)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    todo = [(clip, copy) for copy in range(copies) for clip in clips
            if not cache_path(cache_dir, clip, copy).is_file()]
    for done, (clip, copy) in enumerate(todo, 1):
        samples = clip.samples
        if copy > 0:
            digest = hashlib.sha1(f"{Path(clip.path).resolve()}|{copy}|{seed}".encode()).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            samples = augment(samples, rng, babble_pool)
        states = encoder.encode(samples).hidden_states.to(torch.float16).numpy()
        target = cache_path(cache_dir, clip, copy)
        partial = target.with_suffix(".partial.npy")
        np.save(partial, states)
        partial.replace(target)
        if done % 100 == 0 or done == len(todo):
            log(f"encoded {done}/{len(todo)}")


def load_encoding(cache_dir: Path, clip: LabelledClip, copy: int) -> np.ndarray:
    return np.load(cache_path(cache_dir, clip, copy))
