"""The on-disk synthetic corpus: built, resumed, read back, phone times stretched with tempo."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from emotrack.core.phonemes import PhoneSegment
from emotrack.ml.face.synthetic_corpus import RECORDS_FILE, _stretched, build_corpus, read_corpus
from emotrack.ml.face.training import corpus_examples, is_validation_sentence

pytest.importorskip("pocketsphinx")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def fake_encode(audio: np.ndarray) -> np.ndarray:
    """States of the right shape (50 frames/s) without an encoder."""
    return np.zeros((2, max(1, len(audio) // 320), 4), np.float32)


def test_tempo_stretch_scales_phone_times():
    phones = [PhoneSegment("M", 0.1, 0.2), PhoneSegment("AA", 0.2, 0.5)]
    assert _stretched(phones, 0.5) == [PhoneSegment("M", 0.05, 0.1), PhoneSegment("AA", 0.1, 0.25)]


@needs_espeak
def test_build_resume_and_read(tmp_path):
    sentences = ["Pam kept a plump lemon", "Simon dropped the rubber stamp"]
    assert build_corpus(tmp_path, sentences, 2, fake_encode, seed=3, log=lambda _: None) == 2
    calls = []
    assert build_corpus(tmp_path, sentences, 3, lambda a: calls.append(1) or fake_encode(a), seed=3,
                        log=lambda _: None) == 3
    assert len(calls) == 1  # the first two were kept
    utterances = read_corpus(tmp_path)
    assert [u.text for u in utterances] == [sentences[0], sentences[1], sentences[0]]
    for utterance in utterances:
        assert utterance.states().shape[1] == utterance.frames
        assert any(p.phone == "M" for p in utterance.phones)
        assert utterance.phones[-1].end <= utterance.frames / 50 + 0.1
    records = [json.loads(line) for line in (tmp_path / RECORDS_FILE).read_text().splitlines()]
    assert {r["index"] for r in records} == {0, 1, 2}
    held = [e for e in corpus_examples(tmp_path, validation=True)]
    assert len(held) == sum(is_validation_sentence(u.text) for u in utterances)
