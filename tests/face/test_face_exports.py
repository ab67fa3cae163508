import csv
import json

import numpy as np
import pytest

from emotrack.core.face_arkit import ARKIT_INDEX, ARKIT_NAMES, LIVE_LINK_CSV_NAMES, LIVE_LINK_ROTATION_NAMES
from emotrack.core.face_exports import (
    export_arkit_csv, export_arkit_json, export_pc2, live_link_timecode, read_pc2,
)
from emotrack.errors import ParameterError


def test_arkit_csv_has_the_live_link_layout_and_round_trips(talking_weights, tmp_path):
    weights = talking_weights.copy()
    weights[:, ARKIT_INDEX["jawLeft"]] = 0.25  # the swapped pairs must land in their named columns
    weights[:, ARKIT_INDEX["mouthRight"]] = 0.75
    path = export_arkit_csv(weights, 30, tmp_path / "take.csv")
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header == ["Timecode", "BlendShapeCount", *LIVE_LINK_CSV_NAMES, *LIVE_LINK_ROTATION_NAMES]
    assert len(body) == len(weights)
    assert [r[0] for r in body[:2]] == ["00:00:00:00.000", "00:00:00:01.000"]
    assert {r[1] for r in body} == {"61"}
    for name in ARKIT_NAMES:
        column = header.index(name[0].upper() + name[1:])
        np.testing.assert_allclose([float(r[column]) for r in body], weights[:, ARKIT_INDEX[name]], atol=1e-6)
    assert all(float(r[header.index("HeadYaw")]) == 0 for r in body)


def test_arkit_csv_writes_eye_rotation_columns(tmp_path):
    eyes = np.zeros((2, 2, 2), np.float32)
    eyes[1] = [[0.1, -0.2], [0.3, 0.4]]
    path = export_arkit_csv(np.zeros((2, 52)), 60, tmp_path / "eyes.csv", eye_rotation=eyes)
    header, _, last = list(csv.reader(open(path, newline="")))
    picked = [float(last[header.index(n)]) for n in ("LeftEyeYaw", "LeftEyePitch", "RightEyeYaw", "RightEyePitch")]
    np.testing.assert_allclose(picked, [0.1, -0.2, 0.3, 0.4], atol=1e-6)


def test_timecode_counts_frames_within_the_second():
    assert live_link_timecode(0, 30) == "00:00:00:00.000"
    assert live_link_timecode(29, 30) == "00:00:00:29.000"
    assert live_link_timecode(30 * 3661 + 5, 30) == "01:01:01:05.000"


def test_arkit_json_has_audio2face_layout(talking_weights, tmp_path):
    path = export_arkit_json(talking_weights, 30, tmp_path / "take.json", track_path="line01.wav")
    document = json.loads(path.read_text())
    assert document["exportFps"] == 30 and document["trackPath"] == "line01.wav"
    assert document["numPoses"] == 52 and document["numFrames"] == 30
    assert document["facsNames"] == list(ARKIT_NAMES)
    np.testing.assert_allclose(np.array(document["weightMat"]), talking_weights, atol=1e-6)


def test_pc2_round_trips_the_evaluated_vertices(tiny_rig, talking_weights, tmp_path):
    path = export_pc2(tiny_rig, talking_weights, 30, tmp_path / "take.pc2")
    header, positions = read_pc2(path)
    assert path.read_bytes()[:12] == b"POINTCACHE2\0"
    assert header == {"version": 1, "points": tiny_rig.vertex_count, "start_frame": 0.0, "sample_rate": 1.0,
                      "samples": 30}
    np.testing.assert_allclose(positions, tiny_rig.evaluate(talking_weights) * 0.01, atol=1e-7)


def test_pc2_is_written_in_chunks_without_seams(tiny_rig, tmp_path, monkeypatch):
    import emotrack.core.face_exports as exports

    monkeypatch.setattr(exports, "PC2_CHUNK_FRAMES", 7)
    weights = np.random.default_rng(1).uniform(0, 1, (30, 52)).astype(np.float32)
    _, positions = read_pc2(export_pc2(tiny_rig, weights, 24, tmp_path / "c.pc2", scale=1.0))
    np.testing.assert_allclose(positions, tiny_rig.evaluate(weights), atol=1e-6)


@pytest.mark.parametrize("call", [
    lambda rig, w, p: export_arkit_csv(w, 0, p / "a.csv"),
    lambda rig, w, p: export_arkit_json(w, -1, p / "a.json"),
    lambda rig, w, p: export_pc2(rig, w, float("nan"), p / "a.pc2"),
])
def test_exports_refuse_a_bad_fps(tiny_rig, talking_weights, tmp_path, call):
    with pytest.raises(ParameterError, match="fps must be a number > 0"):
        call(tiny_rig, talking_weights, tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_exports_refuse_nan_weights_and_leave_no_file(tiny_rig, talking_weights, tmp_path):
    talking_weights[5, 0] = np.nan
    with pytest.raises(ParameterError, match="frame 5 has NaN"):
        export_pc2(tiny_rig, talking_weights, 30, tmp_path / "a.pc2")
    with pytest.raises(ParameterError, match="frame 5 has NaN"):
        export_arkit_csv(talking_weights, 30, tmp_path / "a.csv")
    assert not list(tmp_path.iterdir())
