import json

import numpy as np
import pytest

from analysed_project import analysed_project
from emotrack.core import commands as C
from emotrack.core.document import Project
from emotrack.core.exports import (curves_document, export_curves_csv, export_curves_json,
                                   export_keyframes_json, frame_times)
from emotrack.core.project_file import SCHEMA_VERSION, load_project, save_project
from emotrack.core.settings import HeuristicSettings
from emotrack.errors import ParameterError, ProjectError


@pytest.fixture
def project(tmp_path):
    audio = tmp_path / "voice.wav"
    audio.write_bytes(b"RIFF")
    p = analysed_project(audio, heuristic_settings=HeuristicSettings(smoothing_enabled=True, smoothing=3))
    C.set_emotion_value(p, p.keyframes[2].id, 3, 0.8).redo(p)
    return p


def test_save_and_load_round_trip(project, tmp_path):
    path = save_project(project, tmp_path / "shot.emotrack")
    loaded = load_project(path)
    assert loaded.audio == project.audio  # relative path resolved back
    assert loaded.heuristics == project.heuristics and loaded.analysis == project.analysis
    assert len(loaded.keyframes) == len(project.keyframes)
    for a, b in zip(loaded.keyframes, project.keyframes):
        assert a.time == pytest.approx(b.time)
        np.testing.assert_allclose(a.values, b.values, atol=1e-6)
        assert (a.locked, a.source) == (b.locked, b.source)
    np.testing.assert_allclose(loaded.windows.probabilities, project.windows.probabilities, atol=1e-6)
    np.testing.assert_allclose(loaded.voice.segments(), project.voice.segments())
    assert loaded.quality is None
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["audio"]["path"] == "voice.wav"


def test_quality_scores_round_trip(project, tmp_path):
    from emotrack.core.document import QualityTrack

    scores = np.linspace(-0.2, 0.9, 313)
    C.set_quality(project, QualityTrack(scores, 0.016, float(scores.mean()), 0.3)).redo(project)
    loaded = load_project(save_project(project, tmp_path / "q.emotrack"))
    np.testing.assert_allclose(loaded.quality.frame_scores, scores, atol=1e-4)
    assert loaded.quality.regions == project.quality.regions
    assert [k.low_confidence for k in loaded.keyframes] == [k.low_confidence for k in project.keyframes]


def test_quality_estimates_round_trip_and_may_be_absent(project, tmp_path):
    from emotrack.core.document import QualityTrack

    C.set_quality(project, QualityTrack(np.full(313, 0.8), 0.016, 0.8, 0.3, (), 3.21, 0.93)).redo(project)
    loaded = load_project(save_project(project, tmp_path / "q.emotrack"))
    assert (loaded.quality.estimated_pesq, loaded.quality.estimated_stoi) == (3.21, 0.93)
    C.set_quality(project, QualityTrack(np.full(313, 0.8), 0.016, 0.8, 0.3)).redo(project)
    loaded = load_project(save_project(project, tmp_path / "q.emotrack"))
    assert loaded.quality.estimated_pesq is None and loaded.quality.estimated_stoi is None


def test_quality_problems_round_trip(project, tmp_path):
    from emotrack.core.audio_diagnosis import Problem
    from emotrack.core.document import QualityTrack

    problems = (Problem("clipping", 0.5, 0.75, 0.6, {"peak_dbfs": -0.1}),
                Problem("noise", 0.0, 5.0, 0.42, {"snr_db": 12.3}))
    C.set_quality(project, QualityTrack(np.full(313, 0.8), 0.016, 0.8, 0.3, problems)).redo(project)
    loaded = load_project(save_project(project, tmp_path / "q.emotrack"))
    assert loaded.quality.problems == problems
    assert loaded.quality.problem_counts == {"clipping": 1, "noise": 1}


@pytest.mark.parametrize("problem, message", [
    ({"kind": "hum", "start": 0, "end": 1, "severity": 0.5}, "problems/0/kind"),
    ({"kind": "noise", "start": 0, "end": 1, "severity": 2}, "problems/0/severity"),
    ({"kind": "noise", "start": 2, "end": 1, "severity": 0.5}, "run forward"),
    ({"kind": "noise", "start": 0, "end": 99, "severity": 0.5}, "run forward"),
    ({"kind": "noise", "start": 0, "end": 1, "severity": 0.5, "snr_db": "loud"}, "problems/0/snr_db"),
])
def test_bad_quality_problems_are_refused_with_their_place(project, tmp_path, problem, message):
    from emotrack.core.document import QualityTrack

    C.set_quality(project, QualityTrack(np.full(10, 0.8), 0.016, 0.8, 0.3)).redo(project)
    path = save_project(project, tmp_path / "q.emotrack")
    data = json.loads(path.read_text())
    data["quality"]["problems"] = [problem]
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match=message):
        load_project(path)


def test_projects_without_problems_still_load(project, tmp_path):
    from emotrack.core.document import QualityTrack

    C.set_quality(project, QualityTrack(np.full(10, 0.8), 0.016, 0.8, 0.3)).redo(project)
    path = save_project(project, tmp_path / "q.emotrack")
    data = json.loads(path.read_text())
    del data["quality"]["problems"]
    path.write_text(json.dumps(data))
    assert load_project(path).quality.problems == ()


def test_save_is_atomic_and_leaves_no_temp_files(project, tmp_path, monkeypatch):
    path = save_project(project, tmp_path / "shot.emotrack")
    original = path.read_text()
    import emotrack.core.atomic as atomic

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError):
        save_project(project, path)
    assert path.read_text() == original
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.update(schema_version=99), "newer Emotrack"),
    (lambda d: d.pop("format"), "not an Emotrack project"),
    (lambda d: d["keyframes"][1].update(time="abc"), "keyframes/1/time"),
    (lambda d: d["keyframes"][0]["values"].update(boredom=0.5), "unknown emotion"),
    (lambda d: d["analysis"].update(hop=3), "hop must be between"),
    (lambda d: d["heuristics"].update(colour="red"), "unknown HeuristicSettings field"),
    (lambda d: d.update(fps=23), "fps"),
    (lambda d: d["keyframes"][0]["values"].update(anger=-1), "keyframes/0/values/anger"),
])
def test_load_reports_exactly_what_is_wrong(project, tmp_path, mutate, words):
    path = save_project(project, tmp_path / "shot.emotrack")
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match=words):
        load_project(path)


def test_half_written_file_is_reported_as_truncated(project, tmp_path):
    path = save_project(project, tmp_path / "shot.emotrack")
    path.write_text(path.read_text()[:200])
    with pytest.raises(ProjectError, match="truncated"):
        load_project(path)
    with pytest.raises(ProjectError, match="no such project"):
        load_project(tmp_path / "missing.emotrack")


@pytest.mark.parametrize("fps", [24, 25, 30, 50, 60])
def test_curve_exports_have_one_sample_per_frame(project, tmp_path, fps):
    csv_path = export_curves_csv(project, tmp_path / "c.csv", fps)
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "frame,time,anger,disgust,fear,joy,neutral,sadness"
    assert len(lines) - 1 == int(5.0 * fps) + 1 == len(frame_times(5.0, fps))
    row = [float(x) for x in lines[1 + fps].split(",")]
    assert row[0] == fps and row[1] == pytest.approx(1.0)
    np.testing.assert_allclose(row[2:], project.curves_at(np.array([1.0]))[0], atol=1e-6)
    doc = json.loads(export_curves_json(project, tmp_path / "c.json", fps).read_text())
    assert doc["fps"] == fps and all(len(v) == doc["frame_count"] for v in doc["curves"].values())
    sums = np.sum([doc["curves"][k] for k in doc["labels"]], axis=0)
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)


def test_keyframes_export(project, tmp_path):
    doc = json.loads(export_keyframes_json(project, tmp_path / "k.json", 24).read_text())
    assert len(doc["keyframes"]) == len(project.keyframes)
    key = doc["keyframes"][2]
    assert key["locked"] and key["source"] == "edited" and key["values"]["joy"] == pytest.approx(0.8)
    assert key["frame"] == round(key["time"] * 24)


def test_exports_refuse_bad_fps_and_empty_projects(project):
    with pytest.raises(ParameterError, match="fps"):
        curves_document(project, 23)
    with pytest.raises(ParameterError, match="no keyframes"):
        curves_document(Project(), 30)


def test_actor_reference_is_one_undo_step_and_saved(project, tmp_path):
    from emotrack.core.actor_reference import ActorReference

    reference = ActorReference(mean=np.ones(8, np.float32), model="enc", layers=(3,), lines=("a.wav",), windows=4,
                               name="Anna")
    command = C.apply_analysis(project, project.windows, project.analysis, "Read relative to Anna", actor=reference)
    command.redo(project)
    assert project.actor is reference
    loaded = load_project(save_project(project, tmp_path / "actor.emotrack"))
    assert loaded.actor.name == "Anna" and loaded.actor.lines == ("a.wav",)
    np.testing.assert_array_equal(loaded.actor.mean, reference.mean)
    command.undo(project)
    assert project.actor is None
    assert load_project(save_project(project, tmp_path / "plain.emotrack")).actor is None


def test_damaged_actor_reference_in_a_project_is_named(project, tmp_path):
    path = save_project(project, tmp_path / "p.emotrack")
    data = json.loads(path.read_text())
    data["actor"] = {"format": "emotrack-actor-reference", "version": 1, "model": "m"}
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match="actor reference"):
        load_project(path)
