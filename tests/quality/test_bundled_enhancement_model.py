"""The bundled enhancer takes noise out of pauses far more than out of speech, on speech
it never heard (espeak-ng, not read audiobooks), in both output modes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from emotrack.core import degrade
from emotrack.ml.quality.enhancement import SpeechEnhancer, default_enhancement_model_dir

pytestmark = pytest.mark.skipif(
    not (default_enhancement_model_dir() / "model.safetensors").is_file(),
    reason="bundled enhancement model not trained yet")

FRAME = 400  # 25 ms


def frame_energy(signal: np.ndarray) -> np.ndarray:
    n = len(signal) // FRAME
    return (signal[:n * FRAME].reshape(n, FRAME) ** 2).mean(axis=1)


@pytest.mark.parametrize("output", ["gain", "decoded"])
def test_enhancer_attenuates_noise_in_pauses_more_than_speech(speech_wav, output):
    clean, _ = sf.read(speech_wav, dtype="float32")  # 16 kHz, with a 0.6 s pause per phrase
    noise = degrade.white_noise(clean.size, np.random.default_rng(0))
    noisy = degrade.mix_at_snr(clean, noise, 5.0)
    enhanced = SpeechEnhancer.from_pretrained(device="cpu", output=output).enhance(noisy)
    assert enhanced.shape == noisy.shape and np.all(np.isfinite(enhanced))

    reference = frame_energy(clean)
    pauses, speech = reference < 1e-7, reference > np.quantile(reference, 0.7)
    before, after = frame_energy(noisy), frame_energy(enhanced)
    pause_change_db = 10 * np.log10(after[pauses].mean() / before[pauses].mean())
    speech_change_db = 10 * np.log10(after[speech].mean() / before[speech].mean())
    # Measured with the bundled model: pauses about -23 dB, speech about -7 dB.
    assert pause_change_db < speech_change_db - 6.0
