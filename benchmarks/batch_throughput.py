"""Batch throughput: lines per minute and seconds of audio per second of ``emotrack batch``
with 1 and 2 local worker processes and on a local Ray instance, with each worker's CPU
use and memory, then what a cluster would do by extrapolation.

    PYTHONPATH=app python benchmarks/batch_throughput.py [--lines 200] [--model accurate|fast|DIR]
        [--modes local-1 local-2 ray] [--export csv] [--keep DIR]
    PYTHONPATH=app python benchmarks/batch_throughput.py --model tiny   # all but the network

Generates ``--lines`` speech-shaped clips (harmonic bursts at a syllable rate plus noise,
1-4 s each, like game dialogue barks; no data needed), then runs the real batch
(``batch.runner.run_batch``, the engine ``emotrack batch`` uses) into a fresh folder per
mode. Figures include starting the workers and loading the model once per worker; the
"steady" rate leaves out the time to the first finished line. CPU % is the CPU seconds a
worker spent in its lines (all its threads) over the run's wall time (100 % = one core
busy; model loading not counted); RSS is its resident memory after its last line. Ray runs on a private local instance with as many CPUs as the
machine has; ``ray`` must be installed (``pip install -e '.[ray]'``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.batch.local_pool import available_cores, run_local  # noqa: E402
from emotrack.batch.runner import run_batch  # noqa: E402
from emotrack.batch.work import BatchSettings  # noqa: E402
from emotrack.cli.export import FORMATS  # noqa: E402
from emotrack.core.batch_plan import collect_lines  # noqa: E402

RATE = 16_000


def speech_like(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 110 + 80 * rng.random() + 30 * np.sin(2 * np.pi * (0.4 + rng.random()) * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.clip(np.sin(2 * np.pi * (2.5 + rng.random()) * t), 0, None) ** 0.5
    return (0.25 * voiced * envelope + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


def generate(folder: Path, count: int) -> float:
    """``count`` clips in four character folders; returns their total seconds."""
    rng = np.random.default_rng(0)
    total = 0.0
    for i in range(count):
        seconds = float(rng.uniform(1.0, 4.0))
        path = folder / f"character{i % 4}" / f"line{i:04d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, speech_like(seconds, i), RATE)
        total += seconds
    return total


def tiny_model(folder: Path) -> str:
    """A random-init wav2vec2 classifier of a few thousand weights (the tests' tiny model):
    a batch with it costs everything but the network, the ceiling of one worker whose
    network runs elsewhere (a GPU)."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    torch.manual_seed(0)
    labels = {0: "angry", 1: "disgust", 2: "fear", 3: "happy", 4: "neutral", 5: "sad"}
    config = Wav2Vec2Config(
        conv_dim=(16, 16, 16), conv_kernel=(10, 3, 3), conv_stride=(5, 4, 4), hidden_size=32,
        num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4, classifier_proj_size=16, num_labels=6,
        id2label=labels, label2id={v: k for k, v in labels.items()})
    Wav2Vec2ForSequenceClassification(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=RATE, do_normalize=True).save_pretrained(folder)
    return str(folder)


def run_mode(mode: str, lines, out: Path, settings: BatchSettings, audio_seconds: float) -> dict:
    records: list[dict] = []
    began = time.perf_counter()
    first: list[float] = []

    if mode.startswith("local-"):
        workers = int(mode.split("-")[1])

        def engine(jobs, on_result):
            run_local(jobs, settings, workers, on_result)
    else:
        from emotrack.batch.ray_pool import run_ray

        def engine(jobs, on_result):
            run_ray(jobs, settings, "local", None, on_result)

    class Collect:
        def begin(self, total, unchanged=0):
            pass

        def line_finished(self, record):
            if not first:
                first.append(time.perf_counter() - began)
            records.append(record)

        def close(self):
            pass

    outcome = run_batch(lines, out, settings, {k: FORMATS[k][0] for k in settings.exports}, engine, Collect())
    wall = time.perf_counter() - began
    per_worker: dict[int, dict] = defaultdict(lambda: {"lines": 0, "cpu": 0.0, "rss": 0.0})
    for r in records:
        w = per_worker[r.get("worker", 0)]
        w["lines"] += 1
        w["cpu"] += r.get("cpu_seconds", 0.0)
        w["rss"] = r.get("rss_mib") or w["rss"]
    steady = wall - first[0] if first else wall
    return {"mode": mode, "lines": len(records), "failed": outcome.failed, "wall": wall, "first": first[0] if first else 0,
            "lines_per_min": 60 * len(records) / wall, "audio_per_s": audio_seconds / wall,
            "steady_lines_per_min": 60 * (len(records) - 1) / steady if steady > 0 else 0.0,
            "workers": [(v["lines"], 100 * v["cpu"] / wall, v["rss"]) for v in per_worker.values()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--model", default="accurate",
                        help="accurate, fast, a checkpoint folder, or 'tiny': a random 6k-weight network, "
                             "to measure everything but the network")
    parser.add_argument("--modes", nargs="+", default=["local-1", "local-2", "ray"])
    parser.add_argument("--export", default="csv")
    parser.add_argument("--keep", type=Path, help="generate into and keep this folder instead of a temp one")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="emotrack-batch-bench-"))
    inputs = root / "lines"
    if inputs.exists():
        shutil.rmtree(inputs)
    audio_seconds = generate(inputs, args.lines)
    lines = collect_lines([inputs])
    model = tiny_model(root / "tiny-model") if args.model == "tiny" else args.model
    settings = BatchSettings(model=model, device="cpu",
                             exports=tuple(k for k in args.export.split(",") if k))
    print(f"machine: {platform.processor() or platform.machine()}, {available_cores()} cores, "
          f"python {platform.python_version()}; model {args.model}; {len(lines)} lines, "
          f"{audio_seconds:.0f} s of audio (mean {audio_seconds / len(lines):.2f} s); exports: {args.export or 'none'}")
    results = []
    for mode in args.modes:
        out = root / f"out-{mode}"
        shutil.rmtree(out, ignore_errors=True)
        result = run_mode(mode, lines, out, settings, audio_seconds)
        results.append(result)
        workers = "; ".join(f"{n} lines, CPU {cpu:.0f} %, RSS {rss:.0f} MiB" for n, cpu, rss in result["workers"])
        print(f"{mode:8s} {result['lines_per_min']:7.1f} lines/min  {result['audio_per_s']:6.1f} audio s/s  "
              f"(wall {result['wall']:.1f} s, first line after {result['first']:.1f} s, steady "
              f"{result['steady_lines_per_min']:.1f} lines/min; failed {result['failed']})  workers: {workers}",
              flush=True)
    base = next((r for r in results if r["mode"] == "local-1"), None)
    if base:
        for r in results:
            if r is not base:
                print(f"scaling {r['mode']} / local-1: {r['lines_per_min'] / base['lines_per_min']:.2f}x "
                      f"(steady {r['steady_lines_per_min'] / max(base['steady_lines_per_min'], 1e-9):.2f}x)")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
