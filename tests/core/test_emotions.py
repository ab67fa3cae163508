import numpy as np
import pytest

from emotrack.core.emotions import EMOTIONS, canonical_label, canonical_labels, normalise, readout


@pytest.mark.parametrize("label, expected", [
    ("angry", "anger"), ("ANG", "anger"), ("happy", "joy"), ("Happiness", "joy"), ("sad", "sadness"),
    ("neu", "neutral"), ("fearful", "fear"), ("disgusted", "disgust"), ("calm", "neutral"),
    ("surprised", "surprised"), ("LABEL_3", "label_3"),
])
def test_canonical_label_maps_aliases_and_keeps_unknowns(label, expected):
    assert canonical_label(label) == expected


def test_canonical_labels_rejects_two_labels_for_one_emotion():
    with pytest.raises(ValueError, match="joy"):
        canonical_labels(["happy", "joy"])


def test_readout_orders_by_strength_and_rounds_to_whole_percent():
    assert readout([0.7, 0, 0, 0, 0, 0.3]) == "Anger 70 %, Sadness 30 %"
    assert readout([0.02, 0.02, 0.02, 0.92, 0.01, 0.01]) == "Joy 92 %"
    assert readout([1 / 3, 0, 0, 1 / 3, 0, 1 / 3]) == "Anger 34 %, Joy 33 %, Sadness 33 %"
    assert readout(np.zeros(6)) == "No emotion"


def test_readout_rejects_wrong_length():
    with pytest.raises(ValueError, match="expected 6"):
        readout([1.0, 0.0])


def test_normalise_rows_sum_to_one_and_zero_rows_become_neutral():
    out = normalise(np.array([[2.0, 0, 0, 2.0, 0, 0], [0, 0, 0, 0, 0, 0]]))
    np.testing.assert_allclose(out[0], [0.5, 0, 0, 0.5, 0, 0])
    assert out[1, EMOTIONS.index("neutral")] == 1.0
