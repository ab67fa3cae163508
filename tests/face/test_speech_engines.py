"""festival and flite voices of the synthetic corpus: names, draws, held-out voices."""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest

from emotrack.errors import ParameterError
from emotrack.ml.face.synthetic_corpus import (OTHER_TRAINING_VOICES, TRAINING_VARIANTS, TRAINING_VOICES,
                                               build_corpus, draw_voice)
from emotrack.ml.face.synthetic_speech import (FESTIVAL_VOICES, FLITE_VOICES, HELD_OUT_OTHER_VOICES, SAMPLE_RATE,
                                               synthesize, voice_engine)

needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite not installed")
needs_festival = pytest.mark.skipif(shutil.which("text2wave") is None, reason="festival not installed")


def test_voice_names_say_their_engine():
    assert voice_engine("en-gb+f2") == ("espeak", "en-gb+f2")
    assert voice_engine("flite:slt") == ("flite", "slt")
    assert voice_engine("festival:kal_diphone") == ("festival", "kal_diphone")
    for bad in ("mbrola:us1", "flite:"):
        with pytest.raises(ParameterError):
            voice_engine(bad)


def test_held_out_voices_never_train_and_every_other_voice_does():
    assert not set(OTHER_TRAINING_VOICES) & set(HELD_OUT_OTHER_VOICES)
    every = {f"festival:{n}" for n in FESTIVAL_VOICES} | {f"flite:{n}" for n in FLITE_VOICES}
    assert set(OTHER_TRAINING_VOICES) | set(HELD_OUT_OTHER_VOICES) == every
    assert {voice_engine(v)[0] for v in HELD_OUT_OTHER_VOICES} == {"festival", "flite"}
    with pytest.raises(ParameterError, match="held-out"):
        build_corpus("unused", ["Pam kept a plump lemon"], 1, lambda a: a, other_share=0.5,
                     other_voices=("flite:awb",))


def test_draws_without_other_voices_are_the_espeak_only_draws():
    old, new = random.Random("0:7"), random.Random("0:7")
    assert draw_voice(new) == old.choice(TRAINING_VOICES) + old.choice(TRAINING_VARIANTS)
    assert new.random() == old.random()  # the rest of the utterance's draws are unchanged too
    rng = random.Random(1)
    drawn = [draw_voice(rng, 0.4) for _ in range(400)]
    other = [v for v in drawn if voice_engine(v)[0] != "espeak"]
    assert 0.3 < len(other) / len(drawn) < 0.5 and set(other) == set(OTHER_TRAINING_VOICES)
    assert all(draw_voice(rng, 1.0) in OTHER_TRAINING_VOICES for _ in range(20))


@needs_flite
def test_flite_speaks_at_16_khz_and_rate_and_pitch_change_it():
    base = synthesize("Pam kept a plump lemon", "flite:kal16", 170, 50, 100)
    assert base.dtype == np.float32 and 0.8 < len(base) / SAMPLE_RATE < 3.0
    assert np.abs(base).max() == pytest.approx(0.9 * 100 / 180)  # the peak scaled by the amplitude
    slow = synthesize("Pam kept a plump lemon", "flite:kal16", 120, 50, 100)
    high = synthesize("Pam kept a plump lemon", "flite:kal16", 170, 70, 100)
    assert len(slow) > 1.2 * len(base)
    assert len(high) < 0.97 * len(base)  # played faster
    eight_khz = synthesize("Pam kept a plump lemon", "flite:kal", 170, 50, 100)  # an 8 kHz voice, resampled
    assert 0.8 < len(eight_khz) / SAMPLE_RATE < 3.0


@needs_festival
def test_festival_speaks_and_a_missing_voice_is_an_audio_error():
    from emotrack.errors import AudioError

    audio = synthesize("Pam kept a plump lemon", "festival:kal_diphone", 170, 50, 100)
    assert 0.8 < len(audio) / SAMPLE_RATE < 3.0
    with pytest.raises(AudioError):
        synthesize("Pam kept a plump lemon", "festival:no_such_voice", 170, 50, 100)


@needs_flite
def test_held_out_flite_voice_aligns():
    pytest.importorskip("pocketsphinx")
    from emotrack.ml.face.synthetic_speech import make_utterances

    utterances = make_utterances(2, seed=3, sentences=["Bob made a map of the moon"], voices=("flite:awb",))
    assert [u.voice for u in utterances] == ["flite:awb", "flite:awb"]
    assert [p.phone for p in utterances[0].phones if p.phone != "SIL"][:4] == ["B", "AA", "B", "M"]
