"""What the VQ enhancer does to PESQ-wb, STOI and DNSMOS OVRL on held-out noisy speech.

    PYTHONPATH=app python benchmarks/enhancement.py --clean ../shared/data/speech_clean \
        [--model resources/models/enhancement] [--limit 6]

Mixes the benchmark speakers' utterances (never trained on, same split as training)
with white, pink and babble noise at 0, 5 and 10 dB SNR, enhances each mixture in each
output mode (``gain``: the app's default, ``decoded``: the paper's) and prints the mean
metric of the noisy input, of the enhanced output, and their difference, per SNR and
overall. Needs the benchmark extra (pesq, pystoi, speechmos,
onnxruntime).
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_correlation import DNSMOS, SAMPLE_RATE, intrusive_scores  # noqa: E402

from emotrack.core import degrade  # noqa: E402

SNRS_DB = (0, 5, 10)
NOISES = ("white", "pink", "babble")


def metrics(clean: np.ndarray, signal: np.ndarray, dnsmos: DNSMOS) -> np.ndarray:
    """(PESQ-wb, STOI, DNSMOS OVRL) of ``signal`` against ``clean``."""
    pesq_wb, stoi_score = intrusive_scores(clean, signal)
    return np.array([pesq_wb, stoi_score, dnsmos.ovrl(signal)])


def main() -> int:
    import soundfile
    import torch

    from emotrack.ml.quality.enhancement import SpeechEnhancer
    from emotrack.ml.quality.training import benchmark_split, find_audio

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", type=Path, required=True, help="clean speech folder")
    parser.add_argument("--model", type=Path, default=None, help="enhancement model folder")
    parser.add_argument("--limit", type=int, default=6, help="held-out utterances to use")
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default="gain,decoded", help="output modes to compare")
    args = parser.parse_args()

    torch.set_num_threads(1)
    modes = args.modes.split(",")
    enhancers = {mode: SpeechEnhancer.from_pretrained(args.model, device="cpu", output=mode)
                 for mode in modes}
    dnsmos = DNSMOS()
    held_out = benchmark_split(find_audio(args.clean))[2]
    max_samples = int(args.max_seconds * SAMPLE_RATE)
    utterances = [soundfile.read(str(p), dtype="float32")[0][:max_samples] for p in held_out]
    used = range(min(args.limit, len(utterances)))
    print(f"{len(used)} held-out utterances x {len(NOISES)} noises x {len(SNRS_DB)} SNRs, "
          f"model {args.model or 'bundled'}", flush=True)

    # results[mode][snr] -> list of (noisy metrics, enhanced metrics), metrics = (PESQ, STOI, DNSMOS)
    results = {mode: {snr: [] for snr in SNRS_DB} for mode in modes}
    started = time.monotonic()
    for index in used:
        clean = utterances[index]
        others = [u for j, u in enumerate(utterances) if j != index]
        for noise_name in NOISES:
            for snr in SNRS_DB:
                rng = np.random.default_rng(
                    [args.seed, index, zlib.crc32(f"{noise_name}|{snr}".encode())])
                noise = {"white": lambda: degrade.white_noise(clean.size, rng),
                         "pink": lambda: degrade.pink_noise(clean.size, rng),
                         "babble": lambda: degrade.babble_noise(others, clean.size, rng),
                         }[noise_name]()
                noisy = degrade.mix_at_snr(clean, noise, snr)
                noisy_metrics = metrics(clean, noisy, dnsmos)
                for mode, enhancer in enhancers.items():
                    enhanced_metrics = metrics(clean, enhancer.enhance(noisy), dnsmos)
                    results[mode][snr].append((noisy_metrics, enhanced_metrics))
        print(f"  {index + 1}/{len(used)} ({time.monotonic() - started:.0f} s)", flush=True)

    for mode in modes:
        print(f"\noutput mode {mode}")
        print(f"{'SNR':<8}{'n':>4}  {'PESQ noisy→enh (Δ)':>24}  {'STOI noisy→enh (Δ)':>24}  "
              f"{'DNSMOS noisy→enh (Δ)':>24}")
        everything = [pair for pairs in results[mode].values() for pair in pairs]
        for label, pairs in [*((f"{snr} dB", results[mode][snr]) for snr in SNRS_DB),
                             ("all", everything)]:
            noisy = np.nanmean(np.stack([p[0] for p in pairs]), axis=0)
            enhanced = np.nanmean(np.stack([p[1] for p in pairs]), axis=0)
            cells = [f"{n:6.3f} → {e:6.3f} ({e - n:+.3f})" for n, e in zip(noisy, enhanced)]
            print(f"{label:<8}{len(pairs):>4}  " + "  ".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
