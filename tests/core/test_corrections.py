"""Training targets from locked keys: the windows each key summarised, its values as target."""

import dataclasses

import numpy as np
import pytest

from emotrack.core.analysis import WindowProbabilities, fixed_keyframes
from emotrack.core.corrections import correction_targets, key_spans, split_held_out
from emotrack.core.document import AudioInfo, Project
from emotrack.core.emotions import EMOTIONS
from emotrack.core.keyframes import Keyframe
from emotrack.core.settings import AnalysisSettings
from emotrack.core.vad import VoiceActivity
from emotrack.core.windowing import window_centres, window_starts

SR = 16_000
ANGER, JOY = EMOTIONS.index("anger"), EMOTIONS.index("joy")


def one_hot(index: int) -> tuple[float, ...]:
    values = [0.0] * len(EMOTIONS)
    values[index] = 1.0
    return tuple(values)


def analysed_project(seconds: float = 6.3, analysis: AnalysisSettings | None = None,
                     voice: VoiceActivity | None = None) -> Project:
    """A project keyed by ``fixed_keyframes`` over uniform window probabilities."""
    analysis = analysis or AnalysisSettings()
    n = int(seconds * SR)
    starts = window_starts(n, analysis.window, analysis.hop)
    wp = WindowProbabilities(starts, analysis.window, analysis.hop,
                             np.full((len(starts), len(EMOTIONS)), 1 / len(EMOTIONS)), n, SR)
    project = Project(AudioInfo("clip.wav", "", seconds, SR, 1), analysis=analysis)
    project.voice = voice
    project.windows = wp
    project.keyframes = project.keys_from_specs(fixed_keyframes(wp, analysis, voice))
    return project


def lock(project: Project, indices, values) -> None:
    track = list(project.keyframes)
    for i in indices:
        track[i] = track[i].edited(values)
    project.keyframes = track


@pytest.mark.parametrize("anchor", ["start", "middle", "end"])
def test_fixed_keys_label_the_windows_they_were_pooled_from(anchor):
    analysis = AnalysisSettings(anchor=anchor)
    project = analysed_project(analysis=analysis)
    lock(project, [1, 4], one_hot(ANGER))
    targets = correction_targets(project)
    assert [k.time for k in targets.keys] == [project.keyframes[1].time, project.keyframes[4].time]
    # pool_windows_into_frames: window i belongs to frame centre // frame_samples.
    frame_of_window = window_centres(targets.starts, analysis.window, targets.n_samples) // SR
    for key, frame in zip(targets.keys, (1, 4)):
        assert list(key.windows) == list(np.flatnonzero(frame_of_window == frame))
        assert (key.start, key.end) == (frame, frame + 1)
        np.testing.assert_allclose(key.values, one_hot(ANGER))
        assert key.edited and key.label == ANGER


def test_window_targets_stack_each_keys_values_over_its_windows():
    project = analysed_project()
    lock(project, [0], one_hot(JOY))
    lock(project, [2], (0.5, 0, 0, 0.5, 0, 0))
    targets = correction_targets(project)
    index, soft, owner = targets.window_targets()
    assert len(index) == len(soft) == len(owner) == sum(len(k.windows) for k in targets.keys)
    np.testing.assert_allclose(soft[owner == 0], np.tile(one_hot(JOY), ((owner == 0).sum(), 1)))
    np.testing.assert_allclose(soft[owner == 1][:, [ANGER, JOY]], 0.5)


def test_only_locked_keys_count_and_confirmed_keys_are_not_edited():
    project = analysed_project()
    track = list(project.keyframes)
    track[3] = dataclasses.replace(track[3], locked=True)  # locked as inferred: a confirmation
    project.keyframes = track
    targets = correction_targets(project)
    assert len(targets.keys) == 1 and not targets.keys[0].edited
    assert targets.keys[0].time == project.keyframes[3].time


def test_a_nudged_key_keeps_its_frame_and_the_short_last_frame_is_found():
    project = analysed_project(seconds=5.3)
    track = list(project.keyframes)
    track[2] = dataclasses.replace(track[2].edited(one_hot(ANGER)), time=track[2].time + 0.1)
    track[-1] = track[-1].edited(one_hot(JOY))  # the 0.3 s frame at the end, key at 5.15 s
    project.keyframes = track
    targets = correction_targets(project)
    assert [(k.start, k.end) for k in targets.keys] == [(2.0, 3.0), (5.0, 5.3)]
    # No window is centred in the last 0.3 s: as in analysis, the nearest one stands in.
    centres = window_centres(targets.starts, 14_400, targets.n_samples) / SR
    assert list(targets.keys[1].windows) == [int(np.argmin(np.abs(centres - 5.15)))]


def test_silent_windows_are_left_out_and_silent_keys_counted():
    # Speech only in the first 3 s: a key locked over the silence has nothing to learn from.
    voiced = np.zeros(631, dtype=bool)
    voiced[:300] = True
    project = analysed_project(voice=VoiceActivity(voiced))
    lock(project, [2, 5], one_hot(ANGER))
    targets = correction_targets(project)
    assert len(targets.keys) == 1 and targets.silent_keys == 1
    assert targets.keys[0].time == project.keyframes[2].time


@pytest.mark.parametrize("anchor, expected", [
    ("start", [(1.0, 2.5), (2.5, 4.0), (4.0, 6.0)]),
    ("end", [(0.0, 1.0), (1.0, 2.5), (2.5, 4.0)]),
    ("middle", [(0.0, 1.75), (1.75, 3.25), (3.25, 6.0)]),
])
def test_adaptive_keys_span_the_stretch_to_their_neighbours(anchor, expected):
    analysis = AnalysisSettings(adaptive=True, anchor=anchor)
    track = [Keyframe(t, one_hot(ANGER), id=i) for i, t in enumerate((1.0, 2.5, 4.0))]
    assert key_spans(track, analysis, 6.0) == expected


def test_adaptive_project_targets_use_neighbour_spans():
    analysis = AnalysisSettings(adaptive=True, anchor="start")
    project = Project(AudioInfo("clip.wav", "", 6.0, SR, 1), analysis=analysis)
    project.keyframes = [Keyframe(t, one_hot(EMOTIONS.index("neutral")), id=i)
                         for i, t in enumerate((0.0, 2.0, 4.5))]
    lock(project, [1], one_hot(ANGER))
    targets = correction_targets(project)
    centres = window_centres(targets.starts, analysis.window, targets.n_samples) / SR
    windows = targets.keys[0].windows
    assert np.all((centres[windows] >= 2.0) & (centres[windows] < 4.5))
    assert len(windows) == np.sum((centres >= 2.0) & (centres < 4.5))


def test_held_out_keys_of_one_project_are_its_last_quarter_in_time():
    project = analysed_project(seconds=8.0)
    lock(project, range(8), one_hot(ANGER))
    split = split_held_out([correction_targets(project)])
    (_, train), = split.train
    (_, held), = split.held_out
    assert len(train) == 6 and len(held) == 2 and held[0].time > train[-1].time
    assert split.train_end_sample == int(held[0].start * SR)
    assert "last 2 of 8" in split.description


def test_whole_projects_are_held_out_when_there_are_several():
    projects = [analysed_project() for _ in range(4)]
    for project in projects:
        lock(project, [1, 2], one_hot(JOY))
    split = split_held_out([correction_targets(p) for p in projects])
    assert [i for i, _ in split.train] == [0, 1, 2] and [i for i, _ in split.held_out] == [3]
    assert split.train_end_sample is None and "whole project" in split.description


def test_too_few_keys_to_split_is_an_error():
    project = analysed_project()
    with pytest.raises(ValueError, match="no locked keys"):
        split_held_out([correction_targets(project)])
    lock(project, [1], one_hot(JOY))
    with pytest.raises(ValueError, match="at least two"):
        split_held_out([correction_targets(project)])


def test_analysis_with_another_model_switches_the_model_in_the_same_undo_step():
    from emotrack.core.commands import apply_analysis

    project = analysed_project()
    project.model = "base-model"
    lock(project, [1], one_hot(ANGER))
    command = apply_analysis(project, project.windows, project.analysis, "Analyse with personal model",
                             model="personal")
    command.redo(project)
    assert project.model == "personal" and project.keyframes[1].locked
    command.undo(project)
    assert project.model == "base-model"
    apply_analysis(project, project.windows, project.analysis).redo(project)  # keeps the model
    assert project.model == "base-model"
