"""Forced alignment and synthetic speech; skipped without pocketsphinx or espeak-ng."""

import shutil

import numpy as np
import pytest

from emotrack.core.articulation import articulation_targets, bilabial_closures
from emotrack.errors import ParameterError

pocketsphinx = pytest.importorskip("pocketsphinx")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")

from emotrack.ml.face.alignment import SAMPLE_RATE, PhoneAligner  # noqa: E402
from emotrack.ml.face.synthetic_speech import SENTENCES, make_utterances, synthesize  # noqa: E402

BOB = "Bob made a map of the moon"
BOB_PHONES = "B AA B M EY D AH M AE P AH V DH AH M UW N".split()


@pytest.fixture(scope="module")
def aligner():
    return PhoneAligner()


@needs_espeak
@pytest.mark.parametrize("voice, rate", [("en-us", 170), ("en-gb+f2", 140), ("en-us+m3", 210)])
def test_espeak_sentence_aligns_to_the_expected_phones(aligner, voice, rate):
    audio = synthesize(BOB, voice, rate)
    segments = aligner.align(audio, BOB)
    assert [s.phone for s in segments if s.phone != "SIL"] == BOB_PHONES
    starts = np.array([s.start for s in segments])
    ends = np.array([s.end for s in segments])
    assert starts[0] >= 0 and ends[-1] <= len(audio) / SAMPLE_RATE + 0.011
    assert np.all(starts < ends) and np.all(starts[1:] >= ends[:-1] - 1e-9)
    # and the targets built from them shut the lips on all six bilabials
    weights = articulation_targets(segments, len(audio) / SAMPLE_RATE, 30)
    assert bilabial_closures(segments, weights, 30) == (6, 6)


def test_every_built_in_sentence_is_in_the_dictionary(aligner):
    assert len(SENTENCES) >= 40
    assert {s: aligner.missing_words(s) for s in SENTENCES if aligner.missing_words(s)} == {}


def test_unknown_words_and_bad_audio_are_refused(aligner):
    with pytest.raises(ParameterError):
        aligner.align(np.zeros(SAMPLE_RATE, np.float32), "the flibbertigibbetzz")
    with pytest.raises(ParameterError):
        aligner.align(np.zeros((2, SAMPLE_RATE), np.float32), BOB)


@needs_espeak
def test_make_utterances_is_reproducible_and_varied(aligner):
    first = make_utterances(4, seed=3, aligner=aligner)
    again = make_utterances(4, seed=3, aligner=aligner)
    assert len(first) == 4
    assert [(u.text, u.voice, u.rate, u.pitch) for u in first] == [(u.text, u.voice, u.rate, u.pitch) for u in again]
    assert len({u.text for u in first}) == 4 and len({u.voice for u in first}) > 1
    for u in first:
        assert u.audio.dtype == np.float32 and u.phones[-1].end <= u.seconds + 0.011

