"""Labelled emotional speech for training and evaluation, and the training crops.

A data folder holds ``labels.csv`` (path, corpus, speaker, label, lang, seconds; paths
relative to the folder) and the audio it names. Clips are held in memory: the shared
corpus is ~72 min, ~280 MB as float32.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

from emotrack.core.emotions import EMOTIONS, canonical_label
from emotrack.errors import AudioError, ParameterError

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class LabelledClip:
    path: Path
    corpus: str
    speaker: str
    label: str  # canonical emotion name
    samples: np.ndarray  # float32 mono at SAMPLE_RATE


def read_labelled_clips(data_dir: str | Path, speakers: set[str] | None = None) -> list[LabelledClip]:
    """Clips listed in ``data_dir/labels.csv`` (only ``speakers`` when given), resampled to 16 kHz."""
    root = Path(data_dir)
    table = root / "labels.csv"
    if not table.is_file():
        raise ParameterError(f"no labels.csv in data folder {root}")
    clips = []
    with table.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if speakers is not None and row["speaker"] not in speakers:
                continue
            label = canonical_label(row["label"])
            if label not in EMOTIONS:
                raise ParameterError(f"{table}: label {row['label']!r} is not one of {EMOTIONS}")
            path = root / row["path"]
            clips.append(LabelledClip(path, row["corpus"], row["speaker"], label, read_mono(path)))
    if not clips:
        raise ParameterError(f"no clips found in {table}" + (f" for speakers {sorted(speakers)}" if speakers else ""))
    return clips


READ_SPEECH_CORPUS = "read speech"


def add_read_speech_arguments(parser, applies_to: str = "") -> None:
    """``--neutral-speech DIR`` and ``--neutral-share`` of the emotion trainers."""
    parser.add_argument("--neutral-speech", type=Path, default=None, metavar="DIR",
                        help=f"{applies_to}calm read speech (e.g. LibriSpeech): the training half of its readers "
                             "(data.read_speech_part) joins the neutral class, never held out, so unseen "
                             "narrators are not heard as sad")
    parser.add_argument("--neutral-share", type=float, default=0.25,
                        help="weight of the read speech, as a share of the acted neutral clips' (default 0.25)")


def read_speech_part(reader: str) -> str:
    """``"train"`` or ``"held_out"``: a fixed half of the readers (by a hash of their name)
    teaches the plain head what calm read speech sounds like, and the other half checks,
    in ``benchmarks/read_speech.py``, that unseen readers are heard as neutral."""
    import hashlib

    return "train" if int(hashlib.sha1(reader.encode()).hexdigest()[:8], 16) % 2 == 0 else "held_out"


def read_speech_clips(folder: str | Path, part: str = "train") -> list[LabelledClip]:
    """The utterances of one ``part`` of the readers in ``folder`` (any depth), labelled
    neutral. A reader is a file name up to its first '-' (LibriSpeech's speaker-chapter-
    utterance naming), or the whole name."""
    if part not in ("train", "held_out"):
        raise ParameterError(f"part must be 'train' or 'held_out', got {part!r}")
    from emotrack.core.batch_plan import AUDIO_SUFFIXES
    from emotrack.io.audio import load_audio

    root = Path(folder)
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not paths:
        raise ParameterError(f"no audio files in {root}")
    clips = []
    for path in paths:
        reader = path.stem.split("-", 1)[0]
        if read_speech_part(reader) == part:
            clips.append(LabelledClip(path, READ_SPEECH_CORPUS, reader, "neutral", load_audio(path).samples))
    return clips


def read_mono(path: Path) -> np.ndarray:
    """A sound file as float32 mono at 16 kHz (channels averaged)."""
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as exc:
        raise AudioError(f"cannot read {path}: {exc}") from exc
    samples = samples.mean(axis=1)
    if rate != SAMPLE_RATE:
        samples = soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)
    return samples


def voiced_bounds(samples: np.ndarray, threshold_db: float = 40.0, margin_s: float = 0.1) -> tuple[int, int]:
    """``(begin, end)`` samples between the leading and trailing audio quieter than
    ``threshold_db`` below the loudest 20 ms (plus ``margin_s`` either side)."""
    frame = SAMPLE_RATE // 50
    count = len(samples) // frame
    if count == 0:
        return 0, len(samples)
    energy = np.square(samples[: count * frame].reshape(count, frame)).mean(axis=1)
    loud = np.flatnonzero(energy >= energy.max() * 10.0 ** (-threshold_db / 10.0))
    margin = int(margin_s * SAMPLE_RATE)
    return max(0, loud[0] * frame - margin), min(len(samples), (loud[-1] + 1) * frame + margin)


def trim_silence(samples: np.ndarray, threshold_db: float = 40.0, margin_s: float = 0.1) -> np.ndarray:
    """Cut leading and trailing silence (:func:`voiced_bounds`).

    Acted-speech clips start and end with up to a second of silence; a crop of it would
    teach the network that silence sounds angry (or sad ...).
    """
    begin, end = voiced_bounds(samples, threshold_db, margin_s)
    return samples[begin:end]


@dataclass(frozen=True)
class CropAugmentation:
    """Random changes to each training crop; the model sees per-window normalised audio,
    so level changes are no augmentation at all, while tempo/pitch and noise are."""

    speed_probability: float = 0.5
    speed_range: tuple[float, float] = (0.9, 1.1)
    noise_probability: float = 0.3
    snr_db_range: tuple[float, float] = (10.0, 35.0)


def random_crop(samples: np.ndarray, window: int, rng: np.random.Generator,
                augmentation: CropAugmentation) -> np.ndarray:
    """A ``window``-sample crop at a random place, randomly sped up/slowed and noised.

    Speed change resamples by linear interpolation, which shifts tempo and pitch
    together (a cheap stand-in for other speakers' voices).
    """
    speed = 1.0
    if rng.random() < augmentation.speed_probability:
        speed = rng.uniform(*augmentation.speed_range)
    source_length = int(round(window * speed))
    crop = np.zeros(source_length, dtype=np.float32)
    if len(samples) >= source_length:
        start = rng.integers(0, len(samples) - source_length + 1)
        crop[:] = samples[start:start + source_length]
    else:
        offset = rng.integers(0, source_length - len(samples) + 1)
        crop[offset:offset + len(samples)] = samples
    if source_length != window:
        crop = np.interp(np.linspace(0, source_length - 1, window),
                         np.arange(source_length), crop).astype(np.float32)
    if rng.random() < augmentation.noise_probability:
        snr_db = rng.uniform(*augmentation.snr_db_range)
        power = float(np.mean(np.square(crop))) + 1e-10
        noise = rng.standard_normal(window).astype(np.float32)
        crop = crop + noise * np.float32(np.sqrt(power / 10.0 ** (snr_db / 10.0)))
    return crop
