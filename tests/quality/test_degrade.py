"""Degradations used by the quality benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from emotrack.core import degrade

from .conftest import harmonic_speech


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    return 10 * np.log10(np.mean(clean ** 2) / np.mean((noisy - clean) ** 2))


@pytest.mark.parametrize("kind", ["white", "pink", "speech_shaped", "babble"])
@pytest.mark.parametrize("target", [-5.0, 0.0, 20.0])
def test_mix_at_snr_hits_the_target(kind, target):
    rng = np.random.default_rng(0)
    clean = harmonic_speech(1.0)
    noise = {
        "white": lambda: degrade.white_noise(clean.size, rng),
        "pink": lambda: degrade.pink_noise(clean.size, rng),
        "speech_shaped": lambda: degrade.speech_shaped_noise(clean, clean.size, rng),
        "babble": lambda: degrade.babble_noise([harmonic_speech(0.7, s) for s in (1, 2, 3)],
                                               clean.size, rng),
    }[kind]()
    assert noise.shape == clean.shape
    assert snr_db(clean, degrade.mix_at_snr(clean, noise, target)) == pytest.approx(target, abs=0.01)


def test_pink_noise_has_more_low_than_high_energy():
    spectrum = np.abs(np.fft.rfft(degrade.pink_noise(16000, np.random.default_rng(0)))) ** 2
    assert spectrum[100:500].mean() > 5 * spectrum[4000:8000].mean()


def test_reverb_keeps_length_and_level_and_smears():
    clean = harmonic_speech(1.0)
    wet = degrade.reverberate(clean, 0.8, np.random.default_rng(0))
    assert wet.shape == clean.shape
    assert np.mean(wet ** 2) == pytest.approx(np.mean(clean ** 2), rel=1e-3)
    assert np.corrcoef(clean, wet)[0, 1] < 0.95


def test_hard_clip_and_band_limit():
    clean = harmonic_speech(1.0)
    clipped = degrade.hard_clip(clean, 0.25)
    assert np.max(np.abs(clipped)) == pytest.approx(np.max(np.abs(clean)), rel=1e-5)
    assert np.mean(np.abs(clipped) >= 0.999 * np.max(np.abs(clipped))) > 0.05
    band = degrade.band_limit(clean, 300, 3400)
    spectrum = np.abs(np.fft.rfft(band))
    freqs = np.fft.rfftfreq(band.size, 1 / 16000)
    assert spectrum[(freqs < 290) | (freqs > 3410)].max() < 1e-3 * spectrum.max()


def test_align_to_undoes_a_delay():
    clean = harmonic_speech(1.0)
    delayed = np.concatenate([np.zeros(321, np.float32), clean])
    np.testing.assert_allclose(degrade.align_to(clean, delayed)[:-321], clean[:-321], atol=1e-6)


@pytest.mark.parametrize("codec", ["opus", "mp3"])
def test_codec_round_trip_is_aligned(codec):
    clean = harmonic_speech(1.0)
    decoded = degrade.codec_round_trip(clean, codec, 16000)
    assert decoded.shape == clean.shape
    assert np.corrcoef(clean, decoded)[0, 1] > 0.8


def test_brown_noise_rumbles_more_than_pink():
    rng = np.random.default_rng(0)
    brown = np.abs(np.fft.rfft(degrade.brown_noise(16000, rng))) ** 2
    pink = np.abs(np.fft.rfft(degrade.pink_noise(16000, rng))) ** 2
    assert brown[100:500].mean() / brown[4000:8000].mean() > 5 * pink[100:500].mean() / pink[4000:8000].mean()


def test_band_noise_stays_in_its_band():
    spectrum = np.abs(np.fft.rfft(degrade.band_noise(16000, 1000, 2000, np.random.default_rng(0)))) ** 2
    inside = spectrum[1000:2001].sum()  # 1 Hz per bin for one second at 16 kHz
    assert inside > 0.999 * spectrum.sum()
    with pytest.raises(ValueError):
        degrade.band_noise(100, 2000, 1000, np.random.default_rng(0))


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_hum_sits_on_the_mains_harmonics(mains):
    spectrum = np.abs(np.fft.rfft(degrade.hum(16000, mains, np.random.default_rng(0)))) ** 2
    harmonics = [int(mains * k) for k in range(1, 9)]
    assert spectrum[harmonics].sum() > 0.99 * spectrum.sum()


def test_modulated_noise_level_wanders():
    noise = degrade.modulated_noise(4 * 16000, np.random.default_rng(1), rate_hz=2.0)
    levels = np.sqrt(np.mean(noise.reshape(-1, 1600) ** 2, axis=1))  # 0.1 s frames
    assert levels.max() > 3 * levels.min()


@pytest.mark.parametrize("codec,bitrate", [("aac", 24000), ("amr_nb", 7400), ("g726", 24000)])
def test_telephone_and_aac_codecs_round_trip_in_time(codec, bitrate):
    clean = harmonic_speech(1.0)
    coded = degrade.codec_round_trip(clean, codec, bitrate)
    assert coded.shape == clean.shape and coded.dtype == np.float32
    # Aligned: the coded signal still correlates with the clean one sample for sample.
    assert np.corrcoef(clean, coded)[0, 1] > 0.6
    if codec in ("amr_nb", "g726"):  # 8 kHz codecs: nothing left above 4 kHz
        spectrum = np.abs(np.fft.rfft(coded)) ** 2
        assert spectrum[4200:].sum() < 0.01 * spectrum.sum()
