"""``emotrack quality`` names the problems of each file in its JSON line."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import soundfile as sf

from emotrack.cli.main import main
from emotrack.core import degrade

RATE = 16_000


class Estimator:
    model = SimpleNamespace(config=SimpleNamespace(flag_threshold=0.3))

    def score(self, samples):
        return SimpleNamespace(estimated_pesq=None, estimated_stoi=None, vqscore=0.5, frame_scores=np.full(10, 0.9),
                               frame_times=np.arange(10) * 0.016)


def test_quality_lines_list_problems_with_their_measures(tmp_path, capsys, monkeypatch):
    from emotrack.ml.quality import vqscore
    monkeypatch.setattr(vqscore.QualityEstimator, "from_pretrained",
                        classmethod(lambda cls, *a, **k: Estimator()))
    rng = np.random.default_rng(0)
    t = np.arange(3 * RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
    path = tmp_path / "take.wav"
    sf.write(path, degrade.mix_at_snr(degrade.hard_clip(tone, 0.4),
                                      degrade.white_noise(tone.size, rng), 5), RATE)
    assert main(["quality", str(path)]) == 0
    record = json.loads(capsys.readouterr().out.strip())
    kinds = {problem["kind"] for problem in record["problems"]}
    assert "noise" in kinds and "vqscore" in record and "flagged_seconds" in record
    noise = next(p for p in record["problems"] if p["kind"] == "noise")
    assert set(noise) == {"kind", "start", "end", "severity", "snr_db"} and 0 < noise["severity"] <= 1
    assert abs(noise["snr_db"] - 5) < 4
