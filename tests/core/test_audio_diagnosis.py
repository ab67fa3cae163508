"""Each diagnosis detector fires on its own degradation and stays quiet on clean speech."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emotrack.core import degrade
from emotrack.core.audio_diagnosis import (Problem, diagnose, estimate_cutoff_hz,
                                           estimate_rt60, estimate_snr_db)

RATE = 16_000


def broadband_speech(seconds: float = 6.0, seed: int = 0) -> np.ndarray:
    """Harmonics up to ~7 kHz and fricative noise bursts in syllables with pauses between
    words, at about -24 dBFS active level over a -75 dBFS floor (tests.signals.speech_like
    stops at 1.2 kHz, which would read as band-limited)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 45))
    hiss = np.diff(rng.standard_normal(t.size + 1))  # high-passed noise
    syllable = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 0.5
    words = (np.sin(2 * np.pi * 0.5 * t) > -0.3).astype(float)  # pauses between words
    envelope = syllable * words
    signal = 0.12 * voiced * envelope + 0.02 * hiss * envelope * (np.sin(2 * np.pi * 1.5 * t) > 0.6)
    return (signal + 10 ** (-75 / 20) * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def clean():
    return broadband_speech()


def kinds(samples) -> set[str]:
    return {problem.kind for problem in diagnose(samples, RATE)}


def test_clean_speech_has_no_problems(clean):
    assert diagnose(clean, RATE) == []


def test_hard_clipping_is_found_where_it_happens(clean):
    clipped = clean.copy()
    clipped[RATE * 2:RATE * 3] = degrade.hard_clip(clean[RATE * 2:RATE * 3], 0.3)
    problems = [p for p in diagnose(clipped, RATE) if p.kind == "clipping"]
    assert problems and all(1.9 <= p.start and p.end <= 3.1 for p in problems)
    assert 0 < max(p.severity for p in problems) <= 1


def test_noise_is_found_with_its_snr(clean):
    rng = np.random.default_rng(1)
    noisy = degrade.mix_at_snr(clean, degrade.white_noise(clean.size, rng), 5)
    noise = [p for p in diagnose(noisy, RATE) if p.kind == "noise"]
    assert len(noise) == 1 and abs(noise[0].detail["snr_db"] - 5) < 3
    assert estimate_snr_db(clean, RATE) > 30


def test_band_limit_reports_the_cutoff(clean):
    phone = degrade.band_limit(clean, 300, 3400)
    problems = [p for p in diagnose(phone, RATE) if p.kind == "band_limit"]
    assert len(problems) == 1 and 3000 < problems[0].detail["cutoff_hz"] < 3800
    assert estimate_cutoff_hz(clean, RATE) > 6800


def test_dropouts_are_found_as_regions(clean):
    cut, spans = degrade.drop_out(clean, 2, 0.03, np.random.default_rng(2))
    found = [p for p in diagnose(cut, RATE) if p.kind == "dropouts"]
    assert all(any(p.start <= a and b <= p.end for p in found) for a, b in spans)
    assert len(found) == len(spans)


def test_the_pauses_of_a_gated_voice_are_not_dropouts(clean):
    """espeak-ng (the bundled sample) cuts every pause to exact zero as abruptly as a lost
    packet; a quarter of the clip is zero, so those runs are pauses."""
    import soundfile

    from emotrack.resources import sample_clip_path

    samples, rate = soundfile.read(sample_clip_path(), dtype="float32")
    assert np.mean(samples == 0.0) > 0.2
    assert "dropouts" not in {p.kind for p in diagnose(samples, rate)}


def test_reverberation_is_found_with_a_longer_rt60(clean):
    wet = degrade.reverberate(clean, 0.8, np.random.default_rng(3))
    assert "reverberation" in kinds(wet)
    assert estimate_rt60(wet, RATE) > estimate_rt60(clean, RATE) + 0.2


@pytest.mark.parametrize("gain_db, kind", [(-25, "level_low"), (16, "level_high")])
def test_level_too_low_or_too_high(clean, gain_db, kind):
    scaled = clean * np.float32(10 ** (gain_db / 20))
    found = kinds(scaled)
    other = "level_high" if kind == "level_low" else "level_low"
    assert kind in found and other not in found


def test_silence_tiny_and_non_finite_clips_have_no_problems():
    assert diagnose(np.zeros(RATE, np.float32), RATE) == []
    assert diagnose(np.ones(100, np.float32), RATE) == []
    assert diagnose(np.full(RATE, np.nan, np.float32), RATE) == []


def test_problem_json_is_strict_and_flat():
    record = Problem("noise", 0.0, 1.23456, 0.51234, {"snr_db": 7.891}).to_json()
    assert record == {"kind": "noise", "start": 0.0, "end": 1.235, "severity": 0.512, "snr_db": 7.89}
    json.dumps(record, allow_nan=False)


def test_diagnosis_is_deterministic_and_fast(clean):
    import time
    long = np.tile(clean, 10)  # one minute
    began = time.perf_counter()
    first = diagnose(long, RATE)
    assert time.perf_counter() - began < 60 / 50  # 50x real time at least
    assert diagnose(long, RATE) == first


@pytest.mark.parametrize("degradation", ["none", "noise", "clip", "reverb"])
def test_diagnose_finds_what_the_detectors_find_one_by_one(clean, degradation):
    """diagnose() shares one clip's levels and voice activity among the detectors; each
    detector run on its own computes them itself, and the two must agree."""
    from emotrack.core.audio_diagnosis import DETECTORS

    rng = np.random.default_rng(4)
    samples = {"none": clean, "noise": clean + 0.05 * rng.standard_normal(clean.size).astype(np.float32),
               "clip": np.clip(clean * 8, -0.3, 0.3),
               "reverb": np.convolve(clean, np.exp(-np.arange(8000) / 1600.0) * rng.standard_normal(8000) * 0.05,
                                     mode="same").astype(np.float32)}[degradation]
    alone = sorted((p for detector in DETECTORS for p in detector(samples, RATE)), key=lambda p: (p.start, p.kind))
    assert diagnose(samples, RATE) == alone
