"""The articulation targets: coarticulation, bilabial closure, the emotion layer."""

import numpy as np
import pytest

from emotrack.core.articulation import (CLOSED_GAP, articulation_targets, bilabial_closures,
                                        closure_envelope, frame_times, lip_gap)
from emotrack.core.emotions import EMOTIONS
from emotrack.core.face_arkit import ARKIT_INDEX, ARKIT_NAMES
from emotrack.core.face_expression import PROTOTYPE_WEIGHTS
from emotrack.core.mouth_cues import mouth_shapes
from emotrack.core.phonemes import normalise_phone, phone_segments
from emotrack.core.visemes import PHONE_VISEMES
from emotrack.errors import ParameterError

# "Bob made a map", hand-timed, with a short /b/ (30 ms: under one frame at 30 fps).
ROWS = [("SIL", 0.0, 0.2), ("B", 0.2, 0.23), ("AA", 0.23, 0.4), ("B", 0.4, 0.47), ("M", 0.47, 0.55),
        ("EY", 0.55, 0.75), ("D", 0.75, 0.8), ("AH", 0.8, 0.85), ("M", 0.85, 0.93), ("AE", 0.93, 1.1),
        ("P", 1.1, 1.18), ("SIL", 1.18, 1.5)]
DURATION = 1.5


def one_hot(name):
    vector = np.zeros(len(EMOTIONS), np.float32)
    vector[EMOTIONS.index(name)] = 1
    return vector


def w(weights, name, t, fps):
    return weights[round(t * fps), ARKIT_INDEX[name]]


@pytest.fixture
def segments():
    return phone_segments(ROWS)


@pytest.mark.parametrize("fps", [30, 50])
@pytest.mark.parametrize("emotion", [None, *EMOTIONS])
def test_every_bilabial_shuts_the_lips_whatever_the_emotion(segments, fps, emotion):
    weights = articulation_targets(segments, DURATION, fps, None if emotion is None else one_hot(emotion))
    assert weights.shape == (len(frame_times(DURATION, fps)), len(ARKIT_NAMES))
    assert weights.dtype == np.float32
    assert weights.min() >= 0 and weights.max() <= 1
    assert bilabial_closures(segments, weights, fps) == (5, 5)
    for seg in segments:
        if seg.phone in "PBM":
            frame = round(seg.centre * fps)
            assert lip_gap(weights)[frame] < CLOSED_GAP
            assert weights[frame, ARKIT_INDEX["jawOpen"]] <= 0.15
            assert weights[frame, ARKIT_INDEX["mouthClose"]] >= weights[frame, ARKIT_INDEX["jawOpen"]] - 1e-6
            assert mouth_shapes(weights[frame:frame + 1]) == ["A"]  # what a 2D animator gets


def test_open_vowels_open_the_jaw_and_lips(segments):
    weights = articulation_targets(segments, DURATION, 50)
    assert w(weights, "jawOpen", 0.32, 50) > 0.45  # middle of /aa/
    assert lip_gap(weights)[round(0.32 * 50)] > 0.4
    assert w(weights, "jawOpen", 1.45, 50) < 0.05  # rests in the final pause


def test_rounded_vowels_pucker_and_labiodentals_roll_the_lower_lip():
    segs = phone_segments([("SIL", 0, 0.1), ("F", 0.1, 0.2), ("UW", 0.2, 0.45), ("SIL", 0.45, 0.7)])
    weights = articulation_targets(segs, 0.7, 50)
    assert w(weights, "mouthRollLower", 0.15, 50) > 0.35
    assert w(weights, "mouthPucker", 0.33, 50) > 0.45
    assert mouth_shapes(weights[round(0.15 * 50):round(0.15 * 50) + 1]) == ["G"]


def test_th_shows_the_tongue():
    segs = phone_segments([("SIL", 0, 0.1), ("TH", 0.1, 0.22), ("IH", 0.22, 0.35), ("SIL", 0.35, 0.5)])
    weights = articulation_targets(segs, 0.5, 50)
    assert w(weights, "tongueOut", 0.16, 50) > 0.25
    assert weights[:, ARKIT_INDEX["tongueOut"]].max() == pytest.approx(w(weights, "tongueOut", 0.16, 50), abs=0.05)


@pytest.mark.parametrize("fps, bound", [(30, 0.3), (50, 0.2)])
def test_coarticulation_is_smooth(segments, fps, bound):
    weights = articulation_targets(segments, DURATION, fps)
    assert np.abs(np.diff(weights, axis=0)).max() < bound


def test_neighbours_coarticulate():
    # The lips anticipate the rounding of /uw/ through a lingual consonant: /s/ before
    # /uw/ is rounder than /s/ before /iy/.
    def pucker_of_s(vowel):
        segs = phone_segments([("SIL", 0, 0.1), ("S", 0.1, 0.2), (vowel, 0.2, 0.4), ("SIL", 0.4, 0.6)])
        return w(articulation_targets(segs, 0.6, 50), "mouthPucker", 0.16, 50)
    assert pucker_of_s("UW") > pucker_of_s("IY") + 0.15


def test_joy_smiles_and_emotion_scales_the_jaw(segments):
    neutral = articulation_targets(segments, DURATION, 50, one_hot("neutral"))
    joy = articulation_targets(segments, DURATION, 50, one_hot("joy"))
    anger = articulation_targets(segments, DURATION, 50, one_hot("anger"))
    sad = articulation_targets(segments, DURATION, 50, one_hot("sadness"))
    smile = [ARKIT_INDEX["mouthSmileLeft"], ARKIT_INDEX["mouthSmileRight"]]
    assert (joy[:, smile].mean(axis=0) > neutral[:, smile].mean(axis=0) + 0.5).all()
    assert (joy[:, ARKIT_INDEX["cheekSquintLeft"]] > 0.5).all()
    jaw = ARKIT_INDEX["jawOpen"]
    assert anger[:, jaw].max() == pytest.approx(1.25 * neutral[:, jaw].max(), rel=0.02)
    assert sad[:, jaw].max() == pytest.approx(0.8 * neutral[:, jaw].max(), rel=0.02)
    assert (sad[:, ARKIT_INDEX["browInnerUp"]] > 0.5).all()


def test_emotion_track_follows_per_frame():
    segs = phone_segments([("SIL", 0, 1.0)])
    track = np.zeros((50, len(EMOTIONS)), np.float32)
    track[:, EMOTIONS.index("joy")] = np.linspace(0, 1, 50)
    track[:, EMOTIONS.index("neutral")] = np.linspace(1, 0, 50)
    weights = articulation_targets(segs, 1.0, 50, track)
    smile = weights[:, ARKIT_INDEX["mouthSmileLeft"]]
    assert smile[0] == 0 and np.all(np.diff(smile) > 0)
    np.testing.assert_allclose(smile[-1], PROTOTYPE_WEIGHTS[EMOTIONS.index("joy"), ARKIT_INDEX["mouthSmileLeft"]])


def test_closure_envelope_gives_every_bilabial_a_shut_frame():
    segs = phone_segments([("M", 0.101, 0.112)])  # 11 ms, between two frames
    for fps in (24, 30, 50, 60):
        envelope = closure_envelope(segs, frame_times(0.3, fps), fps)
        assert envelope.max() == 1.0


def test_bad_inputs_are_parameter_errors(segments):
    with pytest.raises(ParameterError):
        articulation_targets(segments, DURATION, 30, np.ones((3, 6)))
    with pytest.raises(ParameterError):
        articulation_targets(segments, DURATION, 0)
    with pytest.raises(ParameterError):
        articulation_targets(segments, DURATION, 30, -one_hot("joy"))
    with pytest.raises(ParameterError):
        phone_segments([("XX", 0, 1)])
    with pytest.raises(ParameterError):
        phone_segments([("AA", 0.5, 0.4)])


def test_phone_names_normalise():
    assert normalise_phone("ah0") == "AH"
    assert normalise_phone("+NSN+") == normalise_phone("<sil>") == "SIL"
    assert all(normalise_phone(p) in PHONE_VISEMES for p in PHONE_VISEMES)


@pytest.fixture(scope="module")
def lip_probe():
    from emotrack.core.face_lips import LipProbe
    from emotrack.core.face_rig import load_face_rig
    return LipProbe(load_face_rig())


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_bilabials_shut_on_the_bundled_rig(segments, lip_probe, emotion):
    # The rig's own lip vertices, not the lip_gap rule: this caught disgust's sneer
    # lifting the upper lip off a closed /m/.
    weights = articulation_targets(segments, DURATION, 30, one_hot(emotion))
    opening = lip_probe.opening_mm(weights)
    for seg in segments:
        if seg.phone in "PBM":
            assert opening[round(seg.centre * 30)] <= lip_probe.rest_mm + 0.5
    assert opening[round(0.32 * 30)] > 10  # /aa/ opens the lips by more than a centimetre
