"""Foreign festival voices timed by festival, and their corpus; skipped without festival
or the Debian festvox voice."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from emotrack.ml.face.festival_timing import FOREIGN_VOICES, festival_script, parse_festival_output
from emotrack.ml.face.foreign_corpus import build_foreign_corpus
from emotrack.ml.face.foreign_sentences import SENTENCES_BY_LANGUAGE
from emotrack.ml.face.synthetic_corpus import read_corpus

VOICE = "festival:lp_diphone"
needs_italian_voice = pytest.mark.skipif(
    shutil.which("festival") is None or not Path("/usr/share/festival/voices/italian/lp_diphone").is_dir(),
    reason="festival or its Italian voice is not installed (Debian: apt-get install festival festvox-italp16k)")

PRINTED = """PHONESET ((name italian) (features ((vc (+ -)) (vheight (1 2 3 -)) (vfront (1 2 3 -)) (vrnd (+ -)) \
(ctype (s f a n l 0)) (cplace (l a p b d v 0)) (cvox (+ -)))) (phones ((a + 3 2 - 0 0 -) (m - - - - n l +) \
(# - - - - 0 0 -))) (silences (#)))
SEG # 0.300000
SEG m 0.350000
SEG a 0.450000
SEG # 0.450000
SEG # 0.800000
SEG # 0.900000
"""


def test_festival_output_becomes_timed_arpabet():
    phones = parse_festival_output(PRINTED)
    assert [(p.phone, p.start, p.end) for p in phones] == [
        ("SIL", 0.0, 0.3), ("M", 0.3, 0.35), ("AA", 0.35, 0.45), ("SIL", 0.45, 0.9)]


def test_script_quotes_the_text_and_knows_its_voices():
    script = festival_script("lp_diphone", 'Il "babbo" beve', 1.2, "/tmp/x.wav")
    assert "(voice_lp_diphone)" in script and '"Il  babbo  beve"' in script and "1.200" in script


def test_every_language_has_sentences_that_fit_its_encoding():
    for name, voice in FOREIGN_VOICES.items():
        sentences = SENTENCES_BY_LANGUAGE[voice.language]
        assert len(sentences) >= 30
        for sentence in sentences:
            sentence.encode(voice.encoding)


@needs_italian_voice
def test_festival_times_match_the_audio_at_any_rate_and_pitch():
    from emotrack.ml.face.festival_timing import synthesize_timed

    for rate, pitch in ((170, 50), (120, 70)):
        audio, phones = synthesize_timed("Il bambino mangia una mela", VOICE, rate, pitch, 100)
        seconds = len(audio) / 16000
        assert [p.phone for p in phones if p.phone in ("P", "B", "M")] == ["B", "M", "B", "M", "M"]
        assert phones[-1].end <= seconds + 1e-6 and phones[-1].end > seconds - 0.1
        assert all(a.end <= b.start + 1e-9 for a, b in zip(phones, phones[1:]))


@needs_italian_voice
def test_build_and_read_foreign_corpus(tmp_path):
    def fake_encode(audio):
        return np.zeros((2, max(1, len(audio) // 320), 4), np.float32)

    assert build_foreign_corpus(tmp_path, 2, fake_encode, voices=[VOICE], log=lambda _: None) == 2
    utterances = read_corpus(tmp_path)
    assert len(utterances) == 2
    for utterance in utterances:
        assert utterance.text in SENTENCES_BY_LANGUAGE["italian"]
        assert utterance.phones[-1].end <= utterance.frames / 50 + 0.1


def test_held_out_voices_cannot_train(tmp_path):
    from emotrack.errors import ParameterError

    with pytest.raises(ParameterError):
        build_foreign_corpus(tmp_path, 1, lambda a: a, voices=["festival:ked_diphone"])
