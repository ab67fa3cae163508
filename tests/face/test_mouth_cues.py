import json

import numpy as np
import pytest

from emotrack.core.mouth_cues import MouthCue, export_mouth_cues, mouth_cues, mouth_shapes
from emotrack.errors import ParameterError
from synthetic_face import arkit_weights


@pytest.mark.parametrize("curves, shape", [
    ({}, "X"),
    ({"jawOpen": 0.3, "mouthClose": 0.3}, "A"),  # jaw open, lips sealed: P B M
    ({"mouthPressLeft": 0.5, "mouthPressRight": 0.5}, "A"),
    ({"jawOpen": 0.15}, "B"),
    ({"mouthSmileLeft": 0.4, "mouthSmileRight": 0.4}, "B"),  # EE: teeth together, lips spread
    ({"jawOpen": 0.35}, "C"),
    ({"jawOpen": 0.8}, "D"),
    ({"jawOpen": 0.4, "mouthFunnel": 0.6}, "E"),
    ({"jawOpen": 0.05, "mouthPucker": 0.7}, "F"),
    ({"mouthRollLower": 0.6, "jawOpen": 0.1}, "G"),
    ({"jawOpen": 0.4, "tongueOut": 0.8}, "H"),
])
def test_each_shape_follows_the_documented_rule(curves, shape):
    assert mouth_shapes(arkit_weights(1, **curves)) == [shape]


def test_cues_merge_runs_and_absorb_flicker_but_keep_closures():
    jaw = np.array([0, 0, 0.8, 0.8, 0.8, 0.35, 0.8, 0.8, 0.3, 0.3], np.float32)
    weights = arkit_weights(10, jawOpen=jaw)
    weights[8:, 18] = 0.3  # mouthClose: lips sealed over an open jaw (A), 2 frames
    cues = mouth_cues(weights, 10, min_seconds=0.15)
    assert cues == [MouthCue(0.0, 0.2, "X"), MouthCue(0.2, 0.8, "D"), MouthCue(0.8, 1.0, "A")]
    assert [c.value for c in mouth_cues(weights, 10, min_seconds=0)] == ["X", "D", "C", "D", "A"]


def test_tsv_and_json_round_trip(talking_weights, tmp_path):
    cues = mouth_cues(talking_weights, 30)
    tsv = export_mouth_cues(talking_weights, 30, tmp_path / "cues.tsv").read_text().splitlines()
    rows = [(float(t), s) for t, s in (line.split("\t") for line in tsv)]
    assert rows[: len(cues)] == [(c.start, c.value) for c in cues]
    assert rows[-1][1] == "X" and rows[-1][0] == pytest.approx(1.0)  # Rhubarb files end on X at the end
    document = json.loads(export_mouth_cues(talking_weights, 30, tmp_path / "cues.json", sound_file="a.wav")
                          .read_text())
    assert document["metadata"] == {"soundFile": "a.wav", "duration": 1.0}
    assert [MouthCue(**c) for c in document["mouthCues"]] == cues
    assert all(a["end"] == b["start"] for a, b in zip(document["mouthCues"], document["mouthCues"][1:]))


def test_bad_input_is_refused(talking_weights, tmp_path):
    with pytest.raises(ParameterError, match=".tsv or .json"):
        export_mouth_cues(talking_weights, 30, tmp_path / "cues.xml")
    with pytest.raises(ParameterError, match="fps must be a number > 0"):
        mouth_cues(talking_weights, 0)
    with pytest.raises(ParameterError, match="min_seconds"):
        mouth_cues(talking_weights, 30, min_seconds=-1)
