"""Property tests (Hypothesis, seconds): the heuristics keep every row a distribution
whatever the vectors and settings, and the exports of any valid project parse back with
the right frame count (issue 14)."""

from __future__ import annotations

import csv
import json
import math
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from emotrack.core import heuristics
from emotrack.core.document import FRAME_RATES, AudioInfo, Project
from emotrack.core.emotions import EMOTIONS
from emotrack.core.exports import curves_csv_text, curves_document, keyframes_document
from emotrack.core.keyframes import Keyframe
from emotrack.core.project_file import load_project, save_project
from emotrack.core.settings import HeuristicSettings

PROPS = settings(max_examples=int(os.environ.get("EMOTRACK_FUZZ_EXAMPLES", "150")), deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

weights = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False, width=64) | st.sampled_from(
    [0.0, 5e-324, 1e-300, 1e300, 1.0])
vectors = st.integers(1, 40).flatmap(
    lambda n: st.integers(0, 3).flatmap(
        lambda extra: arrays(np.float64, (n, len(EMOTIONS) + extra), elements=weights)))
share = st.floats(0.0, 1.0)
heuristic_settings = st.builds(
    HeuristicSettings,
    smoothing_enabled=st.booleans(), smoothing=st.integers(2, 10),
    contrast_enabled=st.booleans(), contrast=st.floats(0.1, 10.0),
    strength_enabled=st.booleans(), strengths=st.tuples(*[share] * len(EMOTIONS)),
    prior_enabled=st.booleans(), prior_emotion=st.sampled_from(EMOTIONS), prior_strength=share,
    threshold_enabled=st.booleans(), threshold=st.floats(0.0, 0.9),
    max_emotions_enabled=st.booleans(), max_emotions=st.integers(1, len(EMOTIONS)),
)


@PROPS
@given(vectors, heuristic_settings)
def test_heuristics_give_finite_distributions(v, s):
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, no 0/0 (underflow is harmless)
        out = heuristics.apply(v, s)
    assert out.shape == v.shape
    assert np.isfinite(out).all()
    assert (out >= 0).all() and (out <= 1 + 1e-9).all()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)


def _distribution(raw: list[float]) -> tuple[float, ...]:
    total = sum(raw)
    return tuple(x / total for x in raw) if total > 0 else tuple(float(n == "neutral") for n in EMOTIONS)


@st.composite
def projects(draw):
    duration = draw(st.floats(0.2, 120.0))
    project = Project(AudioInfo("voice.wav", "0" * 64, duration, 16_000, 1), fps=draw(st.sampled_from(FRAME_RATES)))
    times = sorted(set(draw(st.lists(st.floats(0.0, duration), min_size=1, max_size=30))))
    keys = [Keyframe(t, _distribution(draw(st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6))),
                     locked=draw(st.booleans()), id=project.new_id()) for t in times]
    project.keyframes = keys
    return project


def _strict(text: str):
    def refuse(token):
        raise AssertionError(f"non-standard JSON constant {token}")
    return json.loads(text, parse_constant=refuse)


@PROPS
@given(projects(), st.sampled_from(FRAME_RATES))
def test_exports_parse_back_with_the_right_frame_count(tmp_path_factory, project, fps):
    expected_frames = math.floor(max(project.duration, project.keyframes[-1].time) * fps + 1e-9) + 1
    rows = list(csv.reader(curves_csv_text(project, fps).splitlines()))
    assert rows[0] == ["frame", "time", *project.labels]
    assert len(rows) - 1 == expected_frames
    assert [int(r[0]) for r in rows[1:]] == list(range(expected_frames))
    values = np.array([[float(x) for x in r[2:]] for r in rows[1:]])
    assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1 + 1e-6).all()

    doc = _strict(json.dumps(curves_document(project, fps), allow_nan=False))
    assert doc["frame_count"] == expected_frames and doc["fps"] == fps
    assert all(len(doc["curves"][name]) == expected_frames for name in project.labels)

    keys = _strict(json.dumps(keyframes_document(project, fps), allow_nan=False))
    assert len(keys["keyframes"]) == len(project.keyframes)
    assert [k["frame"] for k in keys["keyframes"]] == [int(round(k.time * fps)) for k in project.keyframes]

    # And the project itself round-trips through its file.
    path = tmp_path_factory.mktemp("p") / "take.emotrack"
    save_project(project, path)
    again = load_project(path)
    assert len(again.keyframes) == len(project.keyframes)
    np.testing.assert_allclose([k.values for k in again.keyframes], [k.values for k in project.keyframes], atol=1e-6)
