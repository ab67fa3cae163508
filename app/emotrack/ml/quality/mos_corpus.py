"""Training data for the supervised quality estimator: clean speech degraded at random,
each item scored by PESQ-wb and STOI against its clean reference.

    python -m emotrack.ml.quality.mos_corpus --clean ../shared/data/speech_clean \\
        --out runs/mos-corpus --per-utterance 40

Speakers are split as for VQScore (``training.benchmark_split``): the training speakers'
items form split ``train``, the validation speakers' split ``validation``
(``--validation-every K`` moves every K-th training speaker to validation too); the
benchmark speakers are never read, so ``benchmarks/quality_correlation.py`` stays unseen.

Each item is a window of 3-8 s of one utterance at a random offset, passed through zero,
one or two degradation steps drawn from :data:`STEP_WEIGHTS` (applied in the order a
signal meets them: room, noise, band limit, clipping, codec, dropouts) and a random
gain. The draws are continuous (SNR, RT60, cut-offs, bit rates) or from codec settings
the benchmark does not use, so the benchmark's fixed grid of conditions is never
trained on as such. Item ``i`` is reproducible from ``seed`` and ``i`` alone, so an
interrupted build resumes where it stopped (``records.jsonl`` lists finished items;
their degraded audio is ``audio/NNNNNN.npy``, float16).

Needs pesq and pystoi (the ``bench`` extra); the app itself never does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core import degrade
from ...errors import ParameterError

SAMPLE_RATE = 16000
RECORDS_FILE = "records.jsonl"
WINDOW_SECONDS = (3.0, 8.0)
# How many steps an item goes through: clean, one degradation, or two chained.
STEP_COUNT_WEIGHTS = {0: 0.07, 1: 0.68, 2: 0.25}
STEP_WEIGHTS = {"reverb": 0.16, "noise": 0.38, "band_limit": 0.10, "clipping": 0.08,
                "codec": 0.20, "dropouts": 0.08}
STEP_ORDER = tuple(STEP_WEIGHTS)  # the order a signal meets them
NOISE_WEIGHTS = {"white": 0.13, "pink": 0.13, "brown": 0.10, "babble": 0.16, "speech_shaped": 0.10,
                 "band": 0.10, "hum": 0.10, "modulated": 0.18}
SNR_RANGE_DB = (-8.0, 40.0)
RT60_RANGE_S = (0.1, 1.8)
# Bit rates per codec. MP3 leaves out 8 kbit/s, which the benchmark uses; Opus is drawn
# from a continuum, so its benchmark settings (6 and 12 kbit/s) are never met exactly.
CODEC_BITRATES = {"mp3": (16000, 24000, 32000, 48000), "aac": (12000, 16000, 24000, 32000, 48000),
                  "amr_nb": (4750, 5900, 7400, 10200, 12200), "g726": (16000, 24000, 32000, 40000)}
OPUS_BITRATE_RANGE = (6000, 32000)
CODEC_WEIGHTS = {"opus": 0.3, "mp3": 0.2, "aac": 0.2, "amr_nb": 0.15, "g726": 0.15}
GAIN_RANGE_DB = (-30.0, -1.0)  # peak level of the finished item, dBFS


@dataclass(frozen=True)
class Step:
    """One degradation: ``apply(samples) -> samples`` and what it was, in words."""

    description: str
    apply: Callable[[np.ndarray], np.ndarray]


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    probabilities = np.array([weights[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=probabilities / probabilities.sum()))]


def _noise_step(clean_length: int, others: Sequence[np.ndarray], speech: np.ndarray,
                rng: np.random.Generator) -> Step:
    kind = _choice(rng, NOISE_WEIGHTS)
    snr = float(rng.uniform(*SNR_RANGE_DB))
    n = clean_length
    if kind == "white":
        noise = degrade.white_noise(n, rng)
    elif kind == "pink":
        noise = degrade.pink_noise(n, rng)
    elif kind == "brown":
        noise = degrade.brown_noise(n, rng)
    elif kind == "babble":
        noise = degrade.babble_noise(list(others), n, rng, talkers=int(rng.integers(2, 9)))
    elif kind == "speech_shaped":
        noise = degrade.speech_shaped_noise(speech, n, rng)
    elif kind == "band":
        low = float(rng.uniform(100, 5000))
        noise = degrade.band_noise(n, low, min(7900.0, low * rng.uniform(1.2, 3.0)), rng)
    elif kind == "hum":
        noise = degrade.hum(n, float(rng.choice([50.0, 60.0])), rng)
    else:
        noise = degrade.modulated_noise(n, rng, rate_hz=float(rng.uniform(0.3, 4.0)))
    return Step(f"{kind} noise {snr:.1f} dB", lambda x: degrade.mix_at_snr(x, noise, snr))


def _codec_step(rng: np.random.Generator) -> Step:
    codec = _choice(rng, CODEC_WEIGHTS)
    if codec == "opus":
        bitrate = int(rng.uniform(*OPUS_BITRATE_RANGE)) // 100 * 100
    else:
        bitrate = int(rng.choice(CODEC_BITRATES[codec]))
    return Step(f"{codec} {bitrate / 1000:g} kbit/s", lambda x: degrade.codec_round_trip(x, codec, bitrate))


def draw_steps(clean: np.ndarray, others: Sequence[np.ndarray], rng: np.random.Generator) -> list[Step]:
    """The degradation steps for one item, in the order a signal meets them."""
    count = int(_choice(rng, {str(k): v for k, v in STEP_COUNT_WEIGHTS.items()}))
    kinds: list[str] = []
    while len(kinds) < count:
        kind = _choice(rng, STEP_WEIGHTS)
        if kind not in kinds:
            kinds.append(kind)
    steps = []
    for kind in sorted(kinds, key=STEP_ORDER.index):
        if kind == "reverb":
            rt60 = float(rng.uniform(*RT60_RANGE_S))
            steps.append(Step(f"reverb RT60 {rt60:.2f} s", lambda x, r=rt60, g=rng: degrade.reverberate(x, r, g)))
        elif kind == "noise":
            steps.append(_noise_step(clean.size, others, clean, rng))
        elif kind == "band_limit":
            high = float(rng.uniform(1000, 7000))
            low = float(rng.uniform(50, 500)) if rng.random() < 0.5 else 0.0
            steps.append(Step(f"band {low:.0f}-{high:.0f} Hz", lambda x, lo=low, hi=high: degrade.band_limit(x, lo, hi)))
        elif kind == "clipping":
            fraction = float(np.exp(rng.uniform(np.log(0.01), np.log(0.6))))
            steps.append(Step(f"clipping at {fraction:.3f} of peak", lambda x, f=fraction: degrade.hard_clip(x, f)))
        elif kind == "codec":
            steps.append(_codec_step(rng))
        else:
            spans, seconds = int(rng.integers(1, 11)), float(rng.uniform(0.02, 0.2))
            steps.append(Step(f"{spans} dropouts of {seconds * 1000:.0f} ms",
                              lambda x, c=spans, s=seconds, g=rng: degrade.drop_out(x, c, s, g)[0]))
    return steps


def degrade_item(clean: np.ndarray, others: Sequence[np.ndarray], rng: np.random.Generator
                 ) -> tuple[np.ndarray, list[str]]:
    """(degraded samples at a random peak level, the steps in words)."""
    steps = draw_steps(clean, others, rng)
    audio = np.asarray(clean, dtype=np.float32)
    for step in steps:
        audio = step.apply(audio)
    peak_db = float(rng.uniform(*GAIN_RANGE_DB))
    peak = float(np.max(np.abs(audio)))
    if peak > 0:
        audio = audio * (10 ** (peak_db / 20) / peak)
    return audio.astype(np.float32), [step.description for step in steps]


def intrusive_scores(clean: np.ndarray, degraded: np.ndarray) -> tuple[float, float]:
    """(PESQ-wb, STOI) of ``degraded`` against ``clean``; PESQ is NaN where it finds no speech."""
    from pesq import pesq
    from pystoi import stoi

    try:
        pesq_wb = float(pesq(SAMPLE_RATE, clean, degraded, "wb"))
    except Exception:  # pesq raises bare C-level errors (NoUtterancesError, ...)
        pesq_wb = float("nan")
    return pesq_wb, float(stoi(clean, degraded, SAMPLE_RATE, extended=False))


@dataclass(frozen=True)
class CorpusItem:
    index: int
    split: str
    pesq: float
    stoi: float
    steps: tuple[str, ...]
    audio_path: Path
    source: str = ""  # the clean utterance it was cut from (and degraded)

    def audio(self) -> np.ndarray:
        return np.load(self.audio_path).astype(np.float32)


# The utterances of the build in progress, set before the worker pool forks so that each
# worker inherits them instead of receiving megabytes of audio per item.
_BUILD_UTTERANCES: dict[str, list[tuple[str, np.ndarray]]] = {}


def _make_item(task: tuple[int, str, int, int]) -> dict | None:
    """Degrade and score item ``index`` (utterance ``u`` of ``split``); None when PESQ finds
    no speech in it. Item ``index`` depends on ``seed`` and ``index`` alone."""
    index, split, u, seed = task
    utterances = _BUILD_UTTERANCES[split]
    name, samples = utterances[u]
    # A split of one utterance babbles with itself (shifted): better than no babble.
    others = [s for v, (_, s) in enumerate(utterances) if v != u] or [samples]
    rng = np.random.default_rng([seed, index])
    length = min(samples.size, int(rng.uniform(*WINDOW_SECONDS) * SAMPLE_RATE))
    offset = int(rng.integers(0, samples.size - length + 1))
    clean = samples[offset:offset + length]
    degraded, steps = degrade_item(clean, others, rng)
    pesq_wb, stoi_score = intrusive_scores(clean, degraded)
    if not np.isfinite(pesq_wb):
        return {"index": index, "source": name, "steps": steps, "no_speech": True}
    return {"index": index, "split": split, "source": name, "offset": offset, "samples": length,
            "steps": steps, "pesq": round(pesq_wb, 4), "stoi": round(stoi_score, 4),
            "audio": degraded.astype(np.float16)}


def build_corpus(out_dir: str | Path, utterances: dict[str, list[tuple[str, np.ndarray]]],
                 per_utterance: int, seed: int = 0, log: Callable[[str], None] = print,
                 workers: int = 1) -> int:
    """Ensure ``out_dir`` holds ``per_utterance`` items for each utterance of each split
    (``{"train": [(name, samples), ...], "validation": [...]}``); returns the item count.
    Babble draws its talkers from the other utterances of the same split, so no voice
    crosses between training and validation. ``workers`` > 1 degrades and scores items in
    that many processes (PESQ dominates); the items are the same either way."""
    if per_utterance < 1:
        raise ParameterError(f"per_utterance must be >= 1, got {per_utterance}")
    if workers < 1:
        raise ParameterError(f"workers must be >= 1, got {workers}")
    out = Path(out_dir)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    records_path = out / RECORDS_FILE
    done = {json.loads(line)["index"] for line in records_path.read_text().splitlines()} \
        if records_path.is_file() else set()
    jobs = [(split, u) for split in sorted(utterances) for u in range(len(utterances[split]))]
    tasks = [(job * per_utterance + draw, split, u, seed) for job, (split, u) in enumerate(jobs)
             for draw in range(per_utterance) if job * per_utterance + draw not in done]
    started, total = time.monotonic(), len(jobs) * per_utterance
    _BUILD_UTTERANCES.clear()
    _BUILD_UTTERANCES.update(utterances)
    pool = None
    try:
        if workers > 1 and len(tasks) > 1:
            import multiprocessing

            pool = multiprocessing.get_context("fork").Pool(workers)
            results = pool.imap(_make_item, tasks, chunksize=4)
        else:
            results = map(_make_item, tasks)
        with records_path.open("a") as records:
            for task, item in zip(tasks, results):
                index = task[0]
                if item.get("no_speech"):
                    log(f"item {index}: PESQ found no speech ({item['source']}, {item['steps']}); left out")
                else:
                    np.save(out / "audio" / f"{index:06d}.npy", item.pop("audio"))
                    records.write(json.dumps(item) + "\n")
                    records.flush()
                done.add(index)
                if len(done) % 200 == 0:
                    log(f"quality corpus: {len(done)}/{total} ({time.monotonic() - started:.0f} s)")
    finally:
        if pool is not None:
            pool.terminate()
        _BUILD_UTTERANCES.clear()
    return len(done)


def read_corpus(corpus_dir: str | Path, split: str | None = None) -> list[CorpusItem]:
    """The scored items of a corpus built by :func:`build_corpus` (one split or all)."""
    corpus = Path(corpus_dir)
    records_path = corpus / RECORDS_FILE
    if not records_path.is_file():
        raise ParameterError(f"{corpus} is not a quality corpus (no {RECORDS_FILE})")
    items = []
    for line in records_path.read_text().splitlines():
        record = json.loads(line)
        if split is None or record["split"] == split:
            items.append(CorpusItem(record["index"], record["split"], record["pesq"], record["stoi"],
                                    tuple(record["steps"]), corpus / "audio" / f"{record['index']:06d}.npy",
                                    str(record.get("source", ""))))
    return sorted(items, key=lambda item: item.index)


def widen_validation(train: list[Path], validation: list[Path], every: int) -> tuple[list[Path], list[Path]]:
    """Move every ``every``-th training speaker (sorted, offset ``every // 2``) into validation.

    Five validation speakers (VQScore's split) cannot tell two estimators apart whose
    benchmark LCCs differ by 0.03; about twenty can."""
    from .training import speaker_of

    if every < 2:
        raise ParameterError(f"--validation-every must be >= 2, got {every}")
    speakers = sorted({speaker_of(p) for p in train})
    moved = {s for i, s in enumerate(speakers) if i % every == every // 2}
    return ([p for p in train if speaker_of(p) not in moved],
            sorted(validation + [p for p in train if speaker_of(p) in moved]))


def main(argv: Sequence[str] | None = None) -> None:
    import soundfile

    from .training import benchmark_split, find_audio

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", type=Path, required=True, help="clean speech folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-utterance", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--validation-every", type=int, default=None, metavar="K",
                        help="move every K-th training speaker (offset K/2) to validation as well, for "
                             "a validation split large enough to choose between models; the "
                             "benchmark speakers never change")
    parser.add_argument("--workers", type=int, default=1, help="processes (PESQ dominates the time)")
    args = parser.parse_args(argv)
    train, validation, _ = benchmark_split(find_audio(args.clean))
    if args.validation_every:
        train, validation = widen_validation(train, validation, args.validation_every)

    def read(paths: list[Path]) -> list[tuple[str, np.ndarray]]:
        return [(p.name, soundfile.read(str(p), dtype="float32")[0]) for p in paths]

    count = build_corpus(args.out, {"train": read(train), "validation": read(validation)}, args.per_utterance,
                         args.seed, log=lambda message: print(message, file=sys.stderr, flush=True),
                         workers=args.workers)
    print(f"{count} items in {args.out}")


if __name__ == "__main__":
    main()
