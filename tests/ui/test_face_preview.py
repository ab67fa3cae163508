"""The face in the app: the Face dock follows playback, shows edits at once, shows the
frames the export writes, takes face controls with undo, poses a loaded character and
exports the face. Rendered frames are compared as images (GL under Xvfb)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pygltflib
import pytest
from PySide6.QtGui import QImage

from character_files import write_character_glb
from emotrack.core import commands
from emotrack.core.face_arkit import ARKIT_NAMES
from emotrack.resources import sample_clip_path

JAW = ARKIT_NAMES.index("jawOpen")


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(np.int16)


def changed_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels that differ visibly between two renders."""
    return float((np.abs(a - b).max(axis=2) > 12).mean())


def wait_for_face(qtbot, window, timeout: int = 60_000) -> None:
    preview = window.face.preview
    qtbot.waitUntil(lambda: window.loader is None and window.worker is None, timeout=timeout)
    qtbot.waitUntil(lambda: preview.ready and preview.track is not None and preview.track_worker is None,
                    timeout=timeout)


@pytest.fixture
def sample_window(make_window, qtbot):
    """The bundled sample, analysed, with the bundled face network (real weights)."""
    from emotrack.ui.face_preview import bundled_face_animator

    window = make_window(face_loader=bundled_face_animator)
    window.face.dock.show()
    assert window.open_path(sample_clip_path())
    wait_for_face(qtbot, window)
    return window


@pytest.fixture
def tiny_window(make_window, qtbot, speech_wav):
    window = make_window()
    assert window.open_path(speech_wav)
    wait_for_face(qtbot, window)
    return window


def test_playing_the_sample_moves_the_mouth_and_an_emotion_edit_changes_the_face(sample_window, clock, qtbot):
    window, preview = sample_window, sample_window.face.preview
    view = window.face.pane.view
    jaw = preview.track[:, JAW]
    fps = window.project.fps
    open_at, closed_at = np.argmax(jaw) / fps, np.argmin(jaw[: np.argmax(jaw)]) / fps
    assert jaw.max() - jaw.min() > 0.2  # the network opens and closes the jaw on the sample

    # Play from the closed mouth to the open one: the playhead drives the face.
    window.player.seek(closed_at)
    closed = pixels(view.render_image())
    shown = view.frames_shown
    window.player.play()
    clock.now += open_at - closed_at
    window.player.tick()
    window.player.pause()
    assert view.frames_shown > shown
    assert preview.time == pytest.approx(open_at, abs=1e-6)
    opened = pixels(view.render_image())
    assert changed_share(closed, opened) > 0.01

    # An emotion edit re-poses the paused frame at once, before the track is re-made.
    settings = window.project.heuristics
    angry = type(settings)(**{**settings.__dict__, "prior_enabled": True, "prior_emotion": "anger",
                              "prior_strength": 0.95})
    window.push(commands.change_heuristics(window.project, angry))
    assert preview.track is None
    edited = pixels(view.render_image())
    assert changed_share(opened, edited) > 0.005
    wait_for_face(qtbot, window)  # the whole track follows in the background
    np.testing.assert_allclose(preview.frame_weights(open_at), preview.last_weights, atol=1e-5)

    window.undo_stack.undo()
    assert changed_share(opened, pixels(view.render_image())) < 0.002


def test_the_preview_shows_the_frames_that_the_export_writes(sample_window, qtbot):
    from emotrack.pipeline import animate_face

    window, preview = sample_window, sample_window.face.preview
    times, exported = animate_face(window.project, window.project.fps, preview.animator, window.clip)
    frames = [0, 17, len(times) // 2, len(times) - 1]
    np.testing.assert_allclose(preview.track[frames], exported[frames], atol=1e-5)
    # And straight after an edit, when the frame is computed on the spot:
    window.push(commands.set_face_controls(window.project, window.project.face_controls.__class__(
        lower_strength=1.4, upper_smoothing=0.05, seed=3)))
    assert preview.track is None
    _, exported = animate_face(window.project, window.project.fps, preview.animator, window.clip)
    for frame in frames:
        np.testing.assert_allclose(preview.frame_weights(times[frame]), exported[frame], atol=1e-4)


def test_face_controls_panel_drags_are_one_undo_step_and_show_on_the_face(tiny_window, qtbot):
    window, preview = tiny_window, tiny_window.face.preview
    panel = window.face.controls
    window.player.seek(0.6)
    before = preview.last_weights.copy()
    row = panel.rows["lower_strength"]
    steps = window.undo_stack.count()
    row.slider.setValue(300)
    row.slider.setValue(0)  # dragged to 0: the lower face stops moving
    panel._end_gesture()
    assert window.undo_stack.count() == steps + 1
    assert window.project.face_controls.lower_strength == 0
    assert preview.last_weights[JAW] == 0 and before[JAW] > 0
    assert row.box.value() == 0 and row.reset.isEnabled()
    window.undo_stack.undo()
    assert window.project.face_controls.lower_strength == 1.0 and row.slider.value() == 500
    np.testing.assert_allclose(preview.last_weights, before, atol=1e-6)
    row.box.setValue(1.5)  # the exact box, then reset: two steps
    row.reset.click()
    assert window.undo_stack.count() == steps + 2 and window.project.face_controls.lower_strength == 1.0


def test_emotion_toggle_shows_the_lip_sync_alone(tiny_window):
    window, preview = tiny_window, tiny_window.face.preview
    window.push(commands.change_heuristics(window.project, window.project.heuristics.__class__(
        prior_enabled=True, prior_emotion="joy", prior_strength=1.0)))
    window.player.seek(0.5)
    with_emotion = preview.last_weights.copy()
    window.face.pane.emotion_box.setChecked(False)
    assert not preview.emotion
    assert np.abs(preview.last_weights - with_emotion).max() > 1e-4
    window.face.pane.emotion_box.setChecked(True)
    np.testing.assert_allclose(preview.last_weights, with_emotion, atol=1e-6)


def test_a_loaded_character_is_posed_reported_and_exported(tiny_window, tmp_path):
    window, face = tiny_window, tiny_window.face
    path = write_character_glb(tmp_path / "hero.glb")
    (tmp_path / "hero.arkit-map.json").write_text(json.dumps({"Tail_Wag": "tongueOut"}))
    window.get_open_path = lambda *args: str(path)
    assert face.load_character_dialog()
    assert face.preview.mesh is face.character
    assert face.pane.view.mesh_item.vertexes.shape == (7, 3)
    assert "hero.glb" in face.pane.mesh_label.text() and "matched 5 of 52" in face.pane.mesh_label.text()
    assert "missing (47)" in face.pane.mesh_label.toolTip()

    out = tmp_path / "hero_anim.glb"
    assert window.export_to("glb", out, 30)
    gltf = pygltflib.GLTF2().load(str(out))
    assert gltf.meshes[0].extras["targetNames"] == list(face.character.driven_names)
    assert "tongueOut" in face.character.driven_names and len(gltf.animations) == 1

    face.use_bundled_face()
    assert face.pane.view.mesh_item.vertexes.shape[0] > 20_000


def test_a_bad_character_file_is_reported_and_the_face_stays(tiny_window, tmp_path):
    bad = tmp_path / "broken.glb"
    bad.write_bytes(b"glTF not really")
    mesh = tiny_window.face.preview.mesh
    assert not tiny_window.face.load_character(bad)
    assert "broken.glb" in tiny_window.last_error and tiny_window.face.preview.mesh is mesh


def test_face_curves_export_from_the_app(tiny_window, tmp_path):
    out = tmp_path / "line.arkit.csv"
    assert tiny_window.export_to("arkit-csv", out, 30)
    rows = list(csv.reader(out.open()))
    assert rows[0][2] == "EyeBlinkLeft"
    assert len(rows) - 1 == int(np.floor(tiny_window.project.duration * 30 + 1e-9)) + 1


def test_the_fast_model_and_the_face_share_one_encoder_in_the_app(tiny_heads_folder):
    """A heads folder (the bundled fast model) loads as a view of its checkpoint's model,
    which the face preview listens with: one encoder, one memo of encoded chunks."""
    from emotrack.ui.worker import cached_model

    model_dir, heads = tiny_heads_folder
    fast, whole = cached_model(str(heads)), cached_model(str(model_dir))
    assert fast is not whole and fast.whisper is whole.whisper
    assert fast.plain_head.config.layers == (1,) and whole.plain_head is None
