"""Precision and recall of each audio-diagnosis detector on synthetic degradations.

Clean LibriSpeech clips (one per speaker, /work/shared/data/speech_clean) are degraded
with ``emotrack.core.degrade`` at several strengths; each detector is scored at clip level
(fires on the clips it should: precision over all clips it fired on, clean controls and
the other degradations included; recall over the clips carrying its degradation).
Dropouts are also scored per region (a dropout span is found when a reported region
overlaps it). The noise detector's SNR estimate is compared with the mixed-in SNR.

Thresholds were set by looking at the first ``--dev`` speakers (sorted by id); the
figures are on the next ``--speakers`` speakers, which the thresholds never saw.

    PYTHONPATH=app nice -n 10 python benchmarks/quality_diagnosis.py [--dev]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from emotrack.core import degrade
from emotrack.core.audio_diagnosis import KINDS, diagnose, estimate_snr_db

DATA = Path("/work/shared/data/speech_clean/librispeech_train-clean-100")
RATE = 16000


def scaled_to_dbfs(samples: np.ndarray, dbfs: float) -> np.ndarray:
    """Scale so the 20 ms frames above the median power have mean power ``dbfs``."""
    frames = samples[: samples.size // 320 * 320].reshape(-1, 320).astype(np.float64)
    power = np.mean(frames ** 2, axis=1)
    loud = np.mean(power[power >= np.median(power)])
    return (samples * np.sqrt(10 ** (dbfs / 10) / loud)).astype(np.float32)


def conditions(clean: np.ndarray, rng: np.random.Generator):
    """(name, expected kinds, audio, extra truth) for one clean clip."""
    yield "clean", set(), clean, {}
    for snr in (0, 10, 20):
        yield f"white noise {snr} dB", {"noise"}, degrade.mix_at_snr(
            clean, degrade.white_noise(clean.size, rng), snr), {"snr_db": snr}
        yield f"pink noise {snr} dB", {"noise"}, degrade.mix_at_snr(
            clean, degrade.pink_noise(clean.size, rng), snr), {"snr_db": snr}
    for rt60 in (0.4, 0.7, 1.0):
        yield f"reverb RT60 {rt60} s", {"reverberation"}, degrade.reverberate(clean, rt60, rng), {}
    for fraction in (0.5, 0.2):
        yield f"clipped at {fraction} of peak", {"clipping"}, degrade.hard_clip(clean, fraction), {}
    for high in (3400, 5000, 6500):
        yield f"band-limited to {high} Hz", {"band_limit"}, degrade.band_limit(clean, 50, high), {}
    for dbfs in (-45, -40):
        yield f"level {dbfs} dBFS", {"level_low"}, scaled_to_dbfs(clean, dbfs), {}
    hot = scaled_to_dbfs(clean, -4)
    # Pushed that hot, the peaks go past full scale: the recorder clips them too.
    yield "level -4 dBFS", {"level_high"} | ({"clipping"} if np.abs(hot).max() > 1 else set()), \
        np.clip(hot, -1, 1), {}
    for seconds in (0.01, 0.05):
        audio, spans = degrade.drop_out(clean, 3, seconds, rng)
        yield f"3 dropouts of {int(seconds * 1000)} ms", {"dropouts"}, audio, {"spans": spans}
    for codec, bitrate in (("mp3", 16000), ("opus", 6000)):
        # No codec detector: the low-pass of a low-bitrate encoder should read as band_limit.
        yield f"{codec} {bitrate // 1000} kbit/s", {"band_limit"}, degrade.codec_round_trip(
            clean, codec, bitrate), {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", action="store_true", help="score the threshold-tuning speakers")
    parser.add_argument("--dev-speakers", type=int, default=10)
    parser.add_argument("--speakers", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=8.0, help="cut each clip to this")
    args = parser.parse_args()
    files = sorted(DATA.glob("*.flac"))
    files = (files[: args.dev_speakers] if args.dev
             else files[args.dev_speakers: args.dev_speakers + args.speakers])
    rng = np.random.default_rng(0)
    fired = defaultdict(lambda: [0, 0, 0])  # kind -> true positive, false positive, false negative
    per_condition = defaultdict(lambda: defaultdict(int))
    snr_errors, region_hits, region_total, region_reported, region_true = [], 0, 0, 0, 0
    audio_seconds, spent = 0.0, 0.0
    for path in files:
        samples, rate = sf.read(path, dtype="float32")
        assert rate == RATE, path
        clean = samples[: int(args.seconds * RATE)]
        for name, expected, audio, truth in conditions(clean, rng):
            began = time.perf_counter()
            problems = diagnose(audio, RATE)
            spent += time.perf_counter() - began
            audio_seconds += audio.size / RATE
            found = {problem.kind for problem in problems}
            for kind in KINDS:
                if kind in found and kind in expected:
                    fired[kind][0] += 1
                elif kind in found:
                    fired[kind][1] += 1
                elif kind in expected:
                    fired[kind][2] += 1
            for kind in found:
                per_condition[name][kind] += 1
            per_condition[name]["clips"] += 1
            if "snr_db" in truth:
                estimates = [p.detail["snr_db"] for p in problems if p.kind == "noise"]
                estimate = estimates[0] if estimates else estimate_snr_db(audio, RATE)
                snr_errors.append((truth["snr_db"], estimate - truth["snr_db"]))
            if "spans" in truth:
                regions = [p for p in problems if p.kind == "dropouts"]
                region_reported += len(regions)
                region_true += sum(any(p.start < b and a < p.end for a, b in truth["spans"])
                                   for p in regions)
                region_total += len(truth["spans"])
                region_hits += sum(any(p.start < b and a < p.end for p in regions)
                                   for a, b in truth["spans"])
    print(f"{len(files)} {'dev' if args.dev else 'held-out'} speakers, {args.seconds:g} s each, "
          f"{sum(v['clips'] for v in per_condition.values())} clips; "
          f"{audio_seconds / spent:.0f}x real time on one core")
    print(f"{'detector':<14} {'precision':>9} {'recall':>7}   (clip level)")
    for kind in KINDS:
        tp, fp, fn = fired[kind]
        precision = f"{tp / (tp + fp):.2f}" if tp + fp else "-"
        recall = f"{tp / (tp + fn):.2f}" if tp + fn else "-"
        print(f"{kind:<14} {precision:>9} {recall:>7}   (tp {tp}, fp {fp}, fn {fn})")
    if region_total:
        print(f"dropouts per region: recall {region_hits / region_total:.2f} "
              f"({region_hits}/{region_total}), precision "
              f"{region_true / max(1, region_reported):.2f} ({region_true}/{region_reported})")
    for snr in sorted({t for t, _ in snr_errors}):
        errors = np.array([e for t, e in snr_errors if t == snr])
        print(f"SNR estimate at {snr:>2} dB: mean abs error {np.mean(np.abs(errors)):.1f} dB, "
              f"bias {np.mean(errors):+.1f} dB")
    print("\nkinds reported per condition (clips out of the condition's count):")
    for name, counts in per_condition.items():
        listed = ", ".join(f"{kind} {counts[kind]}" for kind in KINDS if counts[kind])
        print(f"  {name:<26} {listed or '-'}")


if __name__ == "__main__":
    main()
