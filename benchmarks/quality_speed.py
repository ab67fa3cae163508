"""How fast speech-quality scoring runs, alone and as a share of ``emotrack analyze --quality``.

    PYTHONPATH=app python benchmarks/quality_speed.py [--seconds 60] [--repeats 3]

Writes a synthetic clip (harmonic speech-like tones plus noise; no data needed) to a
temporary WAV and times, best of ``--repeats`` after a warm-up, on 2 torch threads:
- each part of the quality scoring: VQScore, the supervised estimator (estimated PESQ
  and STOI), the problem diagnosis, and all three as the app runs them
  (``pipeline.score_quality``), as multiples of real time;
- ``pipeline.analyze_file`` with the bundled emotion model, without and with the quality
  estimator, and the share that quality adds. The requirements: scoring alone >= 50x
  real time on 2 CPU cores, and at most 20 % added to the analysis.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from emotion_speed import synthetic_speech  # noqa: E402
from emotrack.core.audio_diagnosis import diagnose  # noqa: E402
from emotrack.io.audio import load_audio  # noqa: E402
from emotrack.pipeline import analyze_file, load_emotion_model, load_quality_estimator, score_quality  # noqa: E402

SAMPLE_RATE = 16000


def best_seconds(work: Callable[[], object], repeats: int, before: Callable[[], None] = lambda: None) -> float:
    work()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        before()
        began = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    audio = synthetic_speech(args.seconds, SAMPLE_RATE)
    estimator = load_quality_estimator(device="cpu")
    model = load_emotion_model(device="cpu")
    if estimator.mos is None:
        print("no supervised estimator bundled: timing VQScore and the diagnosis only")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.wav"
        sf.write(path, audio, SAMPLE_RATE)
        clip = load_audio(path)

        def forget() -> None:  # the Whisper encoder memoises a clip's chunks
            if model.whisper is not None:
                model.whisper.clip_encoder.forget()

        parts: dict[str, Callable[[], object]] = {
            "VQScore": lambda: estimator.model.frame_scores(torch.from_numpy(audio)[None]),
            "diagnosis": lambda: diagnose(audio, SAMPLE_RATE),
            "score_quality (all of the above)": lambda: score_quality(clip, estimator),
        }
        if estimator.mos is not None:
            parts = {"estimator (PESQ, STOI)": lambda: estimator.mos.score(audio), **parts}
        print(f"{args.seconds:.0f} s of audio, CPU, 2 threads, best of {args.repeats}")
        for name, work in parts.items():
            with torch.inference_mode():
                seconds = best_seconds(work, args.repeats)
            print(f"  {name:<34} {seconds:7.3f} s  {args.seconds / seconds:8.0f}x real time")
        plain = best_seconds(lambda: analyze_file(path, model), args.repeats, forget)
        with_quality = best_seconds(lambda: analyze_file(path, model, quality=estimator), args.repeats, forget)
    print(f"  analyze                            {plain:7.3f} s  {args.seconds / plain:8.0f}x real time")
    print(f"  analyze --quality                  {with_quality:7.3f} s  {args.seconds / with_quality:8.0f}x real time")
    print(f"quality adds {100 * (with_quality - plain) / plain:.1f} % to the analysis (requirement: <= 20 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
