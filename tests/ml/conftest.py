"""Fixtures for the model tests: one torch thread each, and a toy labelled corpus laid
out like the shared data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

RATE = 16000


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and CI has two cores for everything."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    """Two speakers, three 'emotions' told apart by pitch, laid out like the shared data."""
    root = tmp_path / "corpus"
    rows = []
    for speaker, seed in (("spk_a", 0), ("spk_b", 1)):
        for label, pitch in (("angry", 300.0), ("happy", 500.0), ("neutral", 150.0)):
            for take in range(2):
                t = np.arange(int(0.4 * RATE)) / RATE
                audio = 0.3 * np.sin(2 * np.pi * pitch * (1 + 0.02 * take) * t)
                audio += 0.01 * np.random.default_rng(seed + take).standard_normal(len(t))
                path = Path(speaker) / f"{label}_{take}.flac"
                (root / speaker).mkdir(parents=True, exist_ok=True)
                soundfile.write(root / path, audio.astype(np.float32), RATE)
                rows.append([path.as_posix(), "toy", speaker, label, "en", f"{len(t) / RATE:.3f}"])
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "corpus", "speaker", "label", "lang", "seconds"])
        writer.writerows(rows)
    return root
