"""Undoable edits: every command's undo restores the exact previous state."""

import numpy as np
import pytest

from emotrack.core import commands as C
from emotrack.core.analysis import WindowProbabilities
from emotrack.core.document import AudioInfo, Project
from emotrack.core.emotions import EMOTIONS
from emotrack.core.settings import AnalysisSettings, HeuristicSettings
from emotrack.core.windowing import window_starts
from emotrack.errors import ParameterError

SR = 16_000


@pytest.fixture
def project():
    n = 10 * SR
    starts = window_starts(n, 14_400, 7_200)
    probs = np.random.default_rng(0).dirichlet(np.ones(6), len(starts))
    wp = WindowProbabilities(starts, 14_400, 7_200, probs, n, SR)
    p = Project(AudioInfo("clip.wav", "abc", 10.0, 48_000, 2))
    C.apply_analysis(p, wp, AnalysisSettings()).redo(p)
    return p


def state(p):
    return (tuple((k.id, k.time, k.values, k.inferred, k.locked, k.source, k.low_confidence)
                  for k in p.keyframes),
            p.heuristics, p.analysis, p.windows, p.quality)


def roundtrip(p, command):
    before = state(p)
    command.redo(p)
    after = state(p)
    assert after != before
    command.undo(p)
    assert state(p) == before
    command.redo(p)
    assert state(p) == after


def test_analysis_makes_one_key_per_second(project):
    assert len(project.keyframes) == 10
    assert all(k.source == "inferred" and not k.locked for k in project.keyframes)


def test_move_snaps_to_frames_and_clamps_to_the_clip(project):
    key = project.keyframes[2]
    command = C.move_keyframes(project, [key.id], 0.1234, snap_fps=30)
    roundtrip(project, command)
    assert project.key_by_id(key.id).time == pytest.approx(round((key.time + 0.1234) * 30) / 30)
    C.move_keyframes(project, [key.id], 100.0).redo(project)
    assert project.key_by_id(key.id).time == 10.0
    assert project.keyframes[-1].id == key.id  # the track stays sorted


def test_edit_value_renormalises_others_and_locks(project):
    key = project.keyframes[0]
    command = C.set_emotion_value(project, key.id, EMOTIONS.index("anger"), 0.7)
    roundtrip(project, command)
    edited = project.key_by_id(key.id)
    assert edited.locked and edited.source == "edited"
    assert edited.values[0] == pytest.approx(0.7)
    assert sum(edited.values) == pytest.approx(1.0)
    others = np.array(key.values[1:])
    np.testing.assert_allclose(np.array(edited.values[1:]), others / others.sum() * 0.3)


def test_redistribute_when_others_are_zero():
    v = C.redistribute([1, 0, 0, 0, 0, 0], 0, 0.4)
    np.testing.assert_allclose(v, [0.4, 0, 0, 0, 0.6, 0])
    v = C.redistribute([0, 0, 0, 0, 1, 0], 4, 0.4)
    np.testing.assert_allclose(v, [0.12, 0.12, 0.12, 0.12, 0.4, 0.12])
    with pytest.raises(ParameterError):
        C.redistribute([1, 0, 0, 0, 0, 0], 0, 1.5)


def test_add_keyframe_takes_the_curve_value_and_delete_removes(project):
    command, key_id = C.add_keyframe(project, 2.25)
    expected = project.curves_at(np.array([2.25]))[0]
    roundtrip(project, command)
    key = project.key_by_id(key_id)
    np.testing.assert_allclose(key.values, expected / expected.sum())
    assert key.locked and key.inferred is None
    roundtrip(project, C.delete_keyframes(project, [key_id]))
    with pytest.raises(KeyError):
        project.key_by_id(key_id)


def test_heuristics_rewrite_unlocked_keys_only(project):
    locked = project.keyframes[3]
    C.set_locked(project, [locked.id], True).redo(project)
    prior = HeuristicSettings(prior_enabled=True, prior_emotion="joy", prior_strength=0.9)
    command = C.change_heuristics(project, prior)
    roundtrip(project, command)
    for key in project.keyframes:
        if key.id == locked.id:
            assert key.values == locked.values
        else:
            assert key.values[EMOTIONS.index("joy")] >= 0.9


def test_unlocking_returns_a_key_to_the_heuristics(project):
    key = project.keyframes[1]
    C.set_emotion_value(project, key.id, 0, 1.0).redo(project)
    C.set_locked(project, [key.id], False).redo(project)
    np.testing.assert_allclose(project.key_by_id(key.id).values, key.inferred)


def test_reanalysis_keeps_locked_keys(project):
    key = project.keyframes[4]
    C.set_emotion_value(project, key.id, 5, 0.9).redo(project)
    windows = project.windows
    fresh = WindowProbabilities(windows.starts, windows.window, windows.hop,
                                np.roll(windows.probabilities, 1, axis=1), windows.n_samples, SR)
    command = C.apply_analysis(project, fresh, AnalysisSettings())
    roundtrip(project, command)
    kept = project.key_by_id(key.id)
    assert kept.values[5] == pytest.approx(0.9)
    assert sum(abs(k.time - kept.time) < 0.5 for k in project.keyframes) == 1


def test_change_interval_rekeys_without_inference(project):
    command = C.change_analysis(project, AnalysisSettings(keyframe_interval=2.0, window=14_400, hop=7_200))
    roundtrip(project, command)
    assert len(project.keyframes) == 5
    with pytest.raises(ParameterError, match="analysed again"):
        C.change_analysis(project, AnalysisSettings(window=12_000, hop=6_000))


def test_slider_drags_merge_into_one_step(project):
    first = C.change_heuristics(project, HeuristicSettings().with_strength("anger", 0.9), merge_key="strength:anger")
    before = state(project)
    first.redo(project)
    second = C.change_heuristics(project, HeuristicSettings().with_strength("anger", 0.5), merge_key="strength:anger")
    second.redo(project)
    assert first.merge(second)
    after = state(project)
    first.undo(project)
    assert state(project) == before
    first.redo(project)
    assert state(project) == after
    other = C.change_heuristics(project, HeuristicSettings(), merge_key="strength:joy")
    assert not first.merge(other)


def test_copy_paste_puts_earliest_key_at_the_target(project):
    clipboard = project.keyframes[1:3]
    command, ids = C.paste_keyframes(project, clipboard, 7.0)
    roundtrip(project, command)
    pasted = [project.key_by_id(i) for i in ids]
    assert [k.time for k in pasted] == pytest.approx([7.0, 8.0])
    assert all(k.locked for k in pasted)


def test_events_fire_on_change(project):
    seen = []
    project.events.keyframes.connect(lambda track: seen.append(len(track)))
    C.delete_keyframes(project, [project.keyframes[0].id]).redo(project)
    assert seen == [9]


def test_readout_at_playhead(project):
    text = project.readout_at(3.3)
    assert "%" in text and any(name.capitalize() in text for name in EMOTIONS)


def test_keys_over_flagged_audio_are_low_confidence(project):
    from emotrack.core.document import QualityTrack

    scores = np.full(1000, 0.9)
    scores[300:500] = 0.2  # 3..5 s is bad audio
    quality = QualityTrack(scores, 0.01, float(scores.mean()), threshold=0.5)
    [[start, end]] = quality.regions
    assert start == pytest.approx(3.0, abs=0.02) and end == pytest.approx(5.0, abs=0.02)
    command = C.set_quality(project, quality)
    roundtrip(project, command)
    low = [k.time for k in project.keyframes if k.low_confidence]
    assert low == [3.5, 4.5]  # keys whose 1 s span overlaps the flagged 3..5 s
    edited_id = project.keyframes[3].id
    C.set_emotion_value(project, edited_id, 0, 0.5).redo(project)
    C.set_quality(project, quality).redo(project)
    assert not project.key_by_id(edited_id).low_confidence  # the user's key is trusted
    C.apply_analysis(project, project.windows, AnalysisSettings()).redo(project)
    assert [k.time for k in project.keyframes if k.low_confidence] == [4.5]
    C.set_quality(project, None).redo(project)
    assert not any(k.low_confidence for k in project.keyframes)


def test_change_fps_is_undoable_and_validated(project):
    command = C.change_fps(project, 24)
    command.redo(project)
    assert project.fps == 24
    command.undo(project)
    assert project.fps == 30
    with pytest.raises(ParameterError, match="fps must be one of"):
        C.change_fps(project, 23)
