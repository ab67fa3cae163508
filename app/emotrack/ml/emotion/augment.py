"""Random acoustic changes to a training clip, so the emotion head learns the voice's
emotion rather than the corpora's microphones and rooms.

Each change is drawn independently; the chain order is that of a real recording: the
speaker (tempo and pitch), the room (reverberation), the background (noise), the
channel (band limit, codec). Levels are left alone: Whisper's log-mel is normalised to
each chunk's peak, so gain is no augmentation at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soxr

from emotrack.core import degrade

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Augmentation:
    speed_probability: float = 0.6
    speed_range: tuple[float, float] = (0.88, 1.12)  # tempo and pitch together, like another voice
    reverb_probability: float = 0.3
    rt60_range: tuple[float, float] = (0.15, 0.7)
    noise_probability: float = 0.5
    snr_db_range: tuple[float, float] = (5.0, 30.0)
    band_limit_probability: float = 0.1
    codec_probability: float = 0.15


def augment(samples: np.ndarray, rng: np.random.Generator, babble_pool: Sequence[np.ndarray] = (),
            settings: Augmentation = Augmentation()) -> np.ndarray:
    """One random variant of ``samples`` (float32 mono, 16 kHz); the length may change
    with speed."""
    out = np.asarray(samples, dtype=np.float32)
    if rng.random() < settings.speed_probability:
        speed = rng.uniform(*settings.speed_range)
        # Playing 16 kHz audio resampled to 16/speed kHz back at 16 kHz speeds it up.
        out = soxr.resample(out, SAMPLE_RATE, SAMPLE_RATE / speed).astype(np.float32)
    if rng.random() < settings.reverb_probability:
        out = degrade.reverberate(out, rng.uniform(*settings.rt60_range), rng)
    if rng.random() < settings.noise_probability and float(np.mean(out ** 2)) > 0:
        kind = rng.choice(["white", "pink", "babble"] if len(babble_pool) else ["white", "pink"])
        if kind == "white":
            noise = degrade.white_noise(len(out), rng)
        elif kind == "pink":
            noise = degrade.pink_noise(len(out), rng)
        else:
            noise = degrade.babble_noise(list(babble_pool), len(out), rng)
        out = degrade.mix_at_snr(out, noise, rng.uniform(*settings.snr_db_range))
    if rng.random() < settings.band_limit_probability:
        out = degrade.band_limit(out, rng.uniform(50, 300), rng.uniform(3400, 7000))
    if rng.random() < settings.codec_probability:
        codec = str(rng.choice(["mp3", "opus"]))
        bitrate = int(rng.choice([16000, 24000, 32000]))
        out = degrade.codec_round_trip(out, codec, bitrate)
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    return out / peak * 0.9 if peak > 1.0 else out
