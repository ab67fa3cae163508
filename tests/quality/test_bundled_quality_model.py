"""The bundled quality model ranks clean speech above the same speech in heavy noise."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from emotrack.core import degrade
from emotrack.ml.quality.vqscore import QualityEstimator, default_quality_model_dir

from .conftest import SAMPLE_RATE

pytestmark = pytest.mark.skipif(
    not (default_quality_model_dir() / "model.safetensors").is_file(),
    reason="bundled quality model not trained yet")


def test_clean_speech_scores_higher_than_noisy(speech_wav):
    samples, rate = sf.read(speech_wav, dtype="float32")
    clean = soxr.resample(samples, rate, SAMPLE_RATE) if rate != SAMPLE_RATE else samples
    estimator = QualityEstimator.from_pretrained(device="cpu")
    rng = np.random.default_rng(0)
    clean_score = estimator.score(clean).vqscore
    for noise in (degrade.white_noise(clean.size, rng), degrade.babble_noise([clean[::-1]], clean.size, rng)):
        noisy_score = estimator.score(degrade.mix_at_snr(clean, noise, 0.0)).vqscore
        assert clean_score > noisy_score
