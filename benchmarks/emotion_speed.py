"""How many seconds of audio the emotion model analyses per second (real-time factor).

    PYTHONPATH=app python benchmarks/emotion_speed.py [--model accurate fast DIR ...] [--seconds 60]

Classifies synthetic audio (harmonic tones with a syllable-rate envelope plus noise;
no data needed) with the app's 0.9 s windows at 0.45 s hop, exactly as the app and
``emotrack classify`` do: a wav2vec2-style model runs every window (so every sample
twice), a Whisper-based one encodes the clip once and pools each window's frames.
Runs on CPU with 2 torch threads, and on CUDA when present. The requirement for the
default analysis is >= 50x real time on 2 CPU cores. Default: both bundled models.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel  # noqa: E402


def synthetic_speech(seconds: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    pitch = 150 + 40 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None)
    return (0.2 * voiced * envelope + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def measure(model: EmotionModel, audio: np.ndarray, window: int, hop: int, batch_size: int,
            repeats: int) -> float:
    """Best-of-``repeats`` real-time factor, after one warm-up pass."""
    model.classify(audio[: window * 4], window, hop, batch_size)
    best = float("inf")
    for _ in range(repeats):
        if model.whisper is not None:
            # Otherwise every repeat after the first finds the clip's chunks in the
            # encoder's memo and times only the heads.
            model.whisper.clip_encoder.forget()
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        began = time.perf_counter()
        model.classify(audio, window, hop, batch_size)
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - began)
    return len(audio) / model.sample_rate / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["accurate", "fast"],
                        help="bundled model names or checkpoint folders (default: accurate fast)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the synthetic audio")
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="samples per window")
    parser.add_argument("--hop", type=int, default=DEFAULT_HOP, help="samples between window starts")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for name, device in ((name, device) for name in args.model for device in devices):
        model = EmotionModel.from_pretrained(name, device=device)
        audio = synthetic_speech(args.seconds, model.sample_rate)
        n_params = sum(p.numel() for p in model.model.parameters())
        # A Whisper model runs only the encoder layers its heads read (the fast one: 2 of 6).
        size = (f"encoder layers 1-{model.encoder_layers()} of {len(model.whisper.model.encoder.layers)}"
                if model.whisper is not None else f"{n_params / 1e6:.2f} M parameters")
        factor = measure(model, audio, args.window, args.hop, args.batch_size, args.repeats)
        where = f"cpu, {args.threads} threads" if device == "cpu" else torch.cuda.get_device_name()
        print(f"{name} on {where}: {factor:.0f}x real time ({args.seconds:.0f} s audio, "
              f"window {args.window / model.sample_rate:.2f} s, hop {args.hop / model.sample_rate:.2f} s, "
              f"batch {args.batch_size}, {size})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
