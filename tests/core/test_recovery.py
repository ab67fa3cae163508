"""The autosave store: what a crash leaves behind comes back whole, and a damaged one is
refused with a sentence instead of opening half a project."""

import pytest

from analysed_project import analysed_project
from emotrack.core import commands as C
from emotrack.core.recovery import NOTE_NAME, RecoveryStore
from emotrack.errors import ProjectError


@pytest.fixture
def project(tmp_path):
    p = analysed_project(tmp_path / "take.wav", seconds=3.0, seed=5, original_rate=48_000)
    C.set_emotion_value(p, p.keyframes[1].id, 0, 0.9).redo(p)
    return p


def test_autosave_round_trip_keeps_the_users_file(project, tmp_path):
    project.path = tmp_path / "scene.emotrack"
    store = RecoveryStore(tmp_path / "recovery" / "deeper")  # made when first written
    assert not store.exists()
    store.write(project)
    assert store.exists() and not project.path.exists()  # never written over the user's file
    recovered = store.read()
    assert recovered.path == project.path
    assert [k.time for k in recovered.keyframes] == pytest.approx([k.time for k in project.keyframes])
    assert recovered.keyframes[1].values[0] == pytest.approx(project.keyframes[1].values[0], abs=1e-6)
    store.clear()
    assert not store.exists() and not (store.folder / NOTE_NAME).exists()
    store.clear()  # clearing nothing is fine


def test_work_never_saved_comes_back_without_a_path(project, tmp_path):
    store = RecoveryStore(tmp_path)
    store.write(project)
    assert store.read().path is None


@pytest.mark.parametrize("note", ["", "{", '{"project": 3}', "[1, 2]"])
def test_a_damaged_note_is_refused_in_one_sentence(project, tmp_path, note):
    store = RecoveryStore(tmp_path)
    store.write(project)
    (tmp_path / NOTE_NAME).write_text(note, encoding="utf-8")
    if note == "[1, 2]":  # valid JSON without the key: the work is still there, unnamed
        assert store.read().path is None
        return
    with pytest.raises(ProjectError, match=NOTE_NAME):
        store.read()


def test_a_half_written_autosave_is_refused(project, tmp_path):
    store = RecoveryStore(tmp_path)
    store.write(project)
    text = store.project_file.read_text(encoding="utf-8")
    store.project_file.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ProjectError):
        store.read()
