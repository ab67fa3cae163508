"""How well VQScore and the supervised quality estimator track intrusive quality
metrics on degraded held-out speech.

    PYTHONPATH=app python benchmarks/quality_correlation.py --clean ../shared/data/speech_clean

Takes the benchmark speakers that ``emotrack train quality`` holds out (never trained
on), degrades each utterance (white / pink / babble / speech-shaped noise at -5..30 dB
SNR, synthetic reverb RT60 0.2-1.2 s, Opus and MP3 at low bit rates, hard clipping, band
limits), and scores every version with VQScore, PESQ-wb and STOI (against the clean
reference) and DNSMOS P.835 OVRL (reference-free, the ONNX model of the ``speechmos``
wheel run with onnxruntime), and with the supervised estimator (``mos_estimator``; its
PESQ and STOI estimates, "EST" and "ESTOI" below; ``--mos-model``, default the bundled
one). Prints Pearson LCC and Spearman SRCC of each reference-free score against PESQ /
STOI, pooled and per degradation type, and how often the clean utterance scores higher
than its degraded version. The estimator was trained on other speakers and on randomly
drawn degradations (``mos_corpus``), never on this grid of conditions.

Items per utterance: 4 noises × 5 SNRs, 3 reverbs, 3 codec settings, 2 clipping
levels, 2 band limits (30).

``--split validation`` degrades the training run's validation speakers instead: choose
among checkpoints on those, so that the benchmark speakers stay unseen by every choice.

Utterances are cut to ``--max-seconds`` (8 s: one DNSMOS window). PESQ, STOI and DNSMOS
do not depend on the quality model and dominate the run time (DNSMOS ~1-5 s per item on
a busy 2-core CPU), so ``--cache FILE`` stores them; a rerun for another checkpoint
only recomputes VQScore. Each utterance's noise draws come from its own seeded
generator, so items are identical whatever ``--limit`` or the condition grid.

Needs the benchmark extra: pesq, pystoi, speechmos, onnxruntime, scipy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.core import degrade  # noqa: E402
from emotrack.ml.quality.mos_corpus import intrusive_scores  # noqa: E402
from emotrack.core.quality_regions import smooth  # noqa: E402

SAMPLE_RATE = 16000
ADDITIVE_NOISES = ("white", "pink", "babble", "speech_shaped")
SNRS_DB = (-5, 0, 10, 20, 30)
RT60S = (0.2, 0.5, 1.2)
CODECS = (("opus", 6000), ("opus", 12000), ("mp3", 8000))
CLIP_FRACTIONS = (0.1, 0.03)
BANDS_HZ = ((0, 2000), (300, 3400))


class DNSMOS:
    """DNSMOS P.835 OVRL from the speechmos wheel's ``sig_bak_ovr.onnx``.

    Same procedure as Microsoft's dnsmos_local.py: peak-normalise, repeat the clip until
    it spans 9.01 s, score 9.01 s windows every 1 s, map each raw OVRL through the
    P.835 polynomial, and average.
    """

    INPUT_SAMPLES = 144160
    OVRL_POLYNOMIAL = np.poly1d([-0.06766283, 1.11546468, 0.04602535])

    def __init__(self) -> None:
        import onnxruntime
        import speechmos

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        model = Path(speechmos.__file__).parent / "dnsmos_models" / "sig_bak_ovr.onnx"
        self.session = onnxruntime.InferenceSession(str(model), options,
                                                    providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def ovrl(self, samples: np.ndarray) -> float:
        audio = samples / (np.max(np.abs(samples)) + 1e-9)
        while audio.size < self.INPUT_SAMPLES:
            audio = np.concatenate([audio, audio])
        starts = range(0, audio.size - self.INPUT_SAMPLES + 1, SAMPLE_RATE)
        windows = np.stack([audio[s:s + self.INPUT_SAMPLES] for s in starts]).astype(np.float32)
        raw = self.session.run(None, {self.input_name: windows})[0]
        return float(np.mean(self.OVRL_POLYNOMIAL(raw[:, 2])))


def degradations(clean: np.ndarray, others: list[np.ndarray], seed: list[int]
                 ) -> list[tuple[str, str, Callable[[], np.ndarray]]]:
    """(type, condition, make) for every degraded version of ``clean``.

    Each item draws from its own generator seeded by ``seed`` + the item's name, so an
    item is the same whatever other items are computed (the cache relies on it).
    """
    n = clean.size

    def rng_for(kind: str, condition: str) -> np.random.Generator:
        return np.random.default_rng([*seed, zlib.crc32(f"{kind}|{condition}".encode())])

    noises = {  # keys: ADDITIVE_NOISES
        "white": lambda rng: degrade.white_noise(n, rng),
        "pink": lambda rng: degrade.pink_noise(n, rng),
        "babble": lambda rng: degrade.babble_noise(others, n, rng),
        "speech_shaped": lambda rng: degrade.speech_shaped_noise(clean, n, rng),
    }
    items: list[tuple[str, str, Callable[[], np.ndarray]]] = []
    for kind, make_noise in noises.items():
        for snr in SNRS_DB:
            rng = rng_for(kind, f"{snr} dB")
            items.append((kind, f"{snr} dB", lambda m=make_noise, s=snr, g=rng:
                          degrade.mix_at_snr(clean, m(g), s)))
    for rt60 in RT60S:
        rng = rng_for("reverb", f"RT60 {rt60} s")
        items.append(("reverb", f"RT60 {rt60} s",
                      lambda r=rt60, g=rng: degrade.reverberate(clean, r, g)))
    for codec, bitrate in CODECS:
        items.append((codec, f"{bitrate // 1000} kbit/s",
                      lambda c=codec, b=bitrate: degrade.codec_round_trip(clean, c, b)))
    for fraction in CLIP_FRACTIONS:
        items.append(("clipping", f"{fraction} of peak",
                      lambda f=fraction: degrade.hard_clip(clean, f)))
    for low, high in BANDS_HZ:
        items.append(("band_limit", f"{low}-{high} Hz",
                      lambda lo=low, hi=high: degrade.band_limit(clean, lo, hi)))
    return items


def correlations(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from scipy.stats import pearsonr, spearmanr

    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return float("nan"), float("nan")
    return float(pearsonr(x[keep], y[keep])[0]), float(spearmanr(x[keep], y[keep])[0])


def main() -> int:
    import soundfile

    from emotrack.ml.quality.training import benchmark_split, find_audio
    from emotrack.ml.quality.vqscore import QualityEstimator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", type=Path, required=True, help="clean speech folder")
    parser.add_argument("--model", type=Path, default=None, help="quality model folder")
    parser.add_argument("--limit", type=int, default=12, help="held-out utterances to use")
    parser.add_argument("--split", choices=("benchmark", "validation"), default="benchmark",
                        help="speakers to degrade: the benchmark's (report these) or the "
                             "training run's validation speakers (choose checkpoints on "
                             "these, so the benchmark stays unseen)")
    parser.add_argument("--mos-model", type=Path, default=None,
                        help="supervised quality estimator folder (default: the bundled one)")
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None,
                        help="JSON file caching PESQ/STOI/DNSMOS between runs")
    parser.add_argument("--json-out", type=Path, default=None,
                        help="write every item's scores here")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    estimator = QualityEstimator.from_pretrained(args.model, device="cpu", mos_directory=args.mos_model)
    if estimator.mos is None:
        parser.error("no supervised quality estimator is bundled; give --mos-model")
    dnsmos = DNSMOS()
    _, validation, benchmark = benchmark_split(find_audio(args.clean))
    held_out = validation if args.split == "validation" else benchmark
    max_samples = int(args.max_seconds * SAMPLE_RATE)
    utterances = [soundfile.read(str(p), dtype="float32")[0][:max_samples] for p in held_out]
    cache: dict[str, dict] = {}
    if args.cache and args.cache.is_file():
        cache = json.loads(args.cache.read_text())
    used = list(range(min(args.limit, len(utterances))))
    print(f"{len(used)} {args.split} utterances (of {len(held_out)}), model "
          f"{args.model or 'bundled'}, estimator {args.mos_model or 'bundled'}", flush=True)

    rows: list[dict] = []
    pairs_vq, pairs_dns, pairs_est = [], [], []
    clean_frames: list[np.ndarray] = []
    heavy_frames: list[np.ndarray] = []  # white/babble at -5 and 0 dB SNR
    started = time.monotonic()
    for index in used:
        clean = utterances[index]
        others = [u for j, u in enumerate(utterances) if j != index]
        name = held_out[index].name
        clean_vq = estimator.score(clean)
        clean_est = clean_vq.estimated_pesq
        clean_frames.append(smooth(clean_vq.frame_scores, 6))
        prefix = f"{name}|{args.max_seconds}|{args.seed}"
        if f"{prefix}|clean" not in cache:
            cache[f"{prefix}|clean"] = {"dnsmos": dnsmos.ovrl(clean)}
        clean_dns = cache[f"{prefix}|clean"]["dnsmos"]
        for kind, condition, make in degradations(clean, others, [args.seed, index]):
            degraded = make()
            scored = estimator.score(degraded)
            vq = scored.vqscore
            if kind in ("white", "babble") and condition in ("-5 dB", "0 dB"):
                heavy_frames.append(smooth(scored.frame_scores, 6))
            key = f"{prefix}|{kind}|{condition}"
            if key not in cache:
                pesq_wb, stoi_score = intrusive_scores(clean, degraded)
                cache[key] = {"pesq": pesq_wb, "stoi": stoi_score,
                              "dnsmos": dnsmos.ovrl(degraded)}
            rows.append({"utterance": name, "type": kind, "condition": condition,
                         "vqscore": vq, "est": scored.estimated_pesq, "estoi": scored.estimated_stoi, **cache[key],
                         "clean_vqscore": clean_vq.vqscore, "clean_dnsmos": clean_dns})
            dns = cache[key]["dnsmos"]
            pairs_vq.append(clean_vq.vqscore > vq)
            pairs_dns.append(clean_dns > dns)
            pairs_est.append(clean_est > scored.estimated_pesq)
        if args.cache:
            args.cache.write_text(json.dumps(cache) + "\n")
        print(f"  {index + 1}/{len(used)} {name} "
              f"({time.monotonic() - started:.0f} s)", flush=True)

    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=1) + "\n")
    column = {k: np.array([r[k] for r in rows], dtype=np.float64)
              for k in ("vqscore", "est", "estoi", "pesq", "stoi", "dnsmos")}
    kinds = np.array([r["type"] for r in rows])

    def table_row(name: str, mask: np.ndarray) -> str:
        cells = []
        for x, y in (("est", "pesq"), ("estoi", "stoi"), ("vqscore", "pesq"), ("vqscore", "stoi"),
                     ("dnsmos", "pesq"), ("dnsmos", "stoi")):
            lcc, srcc = correlations(column[x][mask], column[y][mask])
            cells.append(f"{lcc:6.3f} {srcc:6.3f}")
        return f"{name:<14}{int(mask.sum()):>5}  " + "  ".join(cells)

    print()
    print(f"{len(rows)} degraded items; LCC SRCC per pair "
          f"(PESQ-wb NaN on {int(np.isnan(column['pesq']).sum())} items, left out)")
    print(f"{'type':<14}{'n':>5}  {'EST~PESQ':>13}  {'ESTOI~STOI':>13}  {'VQ~PESQ':>13}  {'VQ~STOI':>13}  "
          f"{'DNSMOS~PESQ':>13}  {'DNSMOS~STOI':>13}")
    print(table_row("pooled", np.ones(len(rows), dtype=bool)))
    # Additive noise alone is the reference's own test ground (VoiceBank-DEMAND).
    print(table_row("noise only", np.isin(kinds, ADDITIVE_NOISES)))
    for kind in dict.fromkeys(kinds):
        print(table_row(kind, kinds == kind))
    print()
    print(f"clean scores higher than degraded: estimator {100 * np.mean(pairs_est):.1f} %, "
          f"VQScore {100 * np.mean(pairs_vq):.1f} %, DNSMOS {100 * np.mean(pairs_dns):.1f} % of {len(pairs_vq)} pairs")
    est_losses = Counter(f"{r['type']} {r['condition']}" for r, won in zip(rows, pairs_est) if not won)
    print("estimator misses: " + (", ".join(f"{name} x{count}" for name, count in est_losses.most_common())
                                  or "none"))
    errors = column["est"] - column["pesq"]
    keep = np.isfinite(errors)
    print(f"estimator PESQ error: RMSE {np.sqrt(np.mean(errors[keep] ** 2)):.3f}, "
          f"mean {np.mean(errors[keep]):+.3f}")
    losses = Counter(f"{r['type']} {r['condition']}"
                     for r, won in zip(rows, pairs_vq) if not won)
    print("VQScore misses (degraded scored at or above its clean version): "
          + (", ".join(f"{name} x{count}" for name, count in losses.most_common()) or "none"))
    frames = np.concatenate(clean_frames)
    print("clean held-out frame scores (smoothed 0.1 s): "
          + ", ".join(f"p{q} {np.percentile(frames, q):.3f}" for q in (1, 2, 5, 10, 50)))
    # Flagging threshold: the 5th percentile of clean frames, i.e. 5 % of clean frames
    # fall below it before the minimum-duration rule.
    threshold = float(np.percentile(frames, 5))
    heavy = np.concatenate(heavy_frames)
    print(f"suggested flag_threshold {threshold:.3f}: frames below it: clean "
          f"{100 * np.mean(frames < threshold):.1f} %, white/babble at -5/0 dB "
          f"{100 * np.mean(heavy < threshold):.1f} %")
    for kind in ("white", "babble"):
        for snr in (0, 10):
            picked = [r["vqscore"] for r in rows if r["type"] == kind
                      and r["condition"] == f"{snr} dB"]
            print(f"mean VQScore {kind} {snr} dB: {np.mean(picked):.3f}", end="; ")
    print(f"clean: {np.mean([r['clean_vqscore'] for r in rows]):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
