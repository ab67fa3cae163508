"""Analysis ▸ Actor Reference in the real window: make from lines (worker + progress),
undo/redo, save, clear, load, and a model without an actor head."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from signals import speech_like

from PySide6.QtCore import Qt

from emotrack.core.actor_reference import ActorReference
from emotrack.ui import actor as actor_ui

SAMPLE_RATE = 16_000


def test_actor_reference_round_trip_through_the_menu(make_window, tone_wav, tmp_path, qtbot,
                                                     tiny_actor_model_dir, tiny_emotion_model_dir):
    window = make_window()
    window.model_dir = str(tiny_actor_model_dir)
    window.open_path(tone_wav)
    controller = window.actor_controller

    def idle():
        qtbot.waitUntil(lambda: window.loader is None and window.worker is None and not controller.running,
                        timeout=30_000)

    idle()
    assert window.project.keyframes and window.project.actor is None
    assert not window.actions["actor_save"].isEnabled() and window.actions["actor_make"].isEnabled()
    plain = [key.values for key in window.project.keyframes]

    lines = []
    for i in range(3):
        path = tmp_path / f"line{i}.wav"
        sf.write(path, speech_like(1.5, seed=10 + i), SAMPLE_RATE)
        lines.append(str(path))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    assert controller.make(lines + [str(broken)], name="Toy")
    idle()
    actor = window.project.actor
    assert actor is not None and actor.name == "Toy" and len(actor.lines) == 3
    assert "broken.wav" in controller.last_message and "under 12 lines" in controller.last_message
    assert [key.values for key in window.project.keyframes] != plain
    controller.update_actions()
    assert "Toy" in controller.status_action.text()

    window.actions["undo"].trigger()
    assert window.project.actor is None
    window.actions["redo"].trigger()
    assert window.project.actor is actor

    saved = tmp_path / "toy.json"
    assert controller.save(str(saved)) and ActorReference.load(saved).lines == actor.lines
    assert controller.clear()
    idle()
    assert window.project.actor is None
    assert controller.load(str(saved))
    idle()
    assert window.project.actor.name == "Toy"

    # A model without an actor head analyses without the reference and says why.
    window.model_menu.modelChosen.emit(str(tiny_emotion_model_dir))
    idle()
    assert window.project.actor is None and "actor reference" in window.last_error


@pytest.mark.filterwarnings("ignore:no speech detected in hiss.wav")  # the silent clip below, on purpose
def test_make_from_this_voices_lines_in_the_folder(make_window, tmp_path, qtbot, monkeypatch, tiny_voice_model_dir,
                                                  tiny_actor_model_dir):
    from emotrack.core import voice_groups

    session = tmp_path / "session"
    session.mkdir()
    for i in range(4):
        sf.write(session / f"take{i}.wav", speech_like(1.5, seed=20 + i), SAMPLE_RATE)
    (session / "broken.wav").write_bytes(b"not audio")
    (session / "notes.txt").write_text("not a recording")
    monkeypatch.setattr(actor_ui, "HINT_MIN_RECORDINGS", 4)  # the 4 other audio files beside take1
    window = make_window()
    window.model_dir = str(tiny_voice_model_dir)
    window.open_path(str(session / "take1.wav"))
    controller = window.actor_controller

    def idle():
        qtbot.waitUntil(lambda: window.loader is None and window.worker is None and not controller.running,
                        timeout=30_000)

    idle()
    controller.update_actions()
    assert window.actions["actor_voice"].isEnabled()
    # The status bar offers it, since the folder holds enough recordings.
    hint = controller.voice_hint
    assert hint.isVisible() and hint.text().endswith("(4 more recordings)")
    monkeypatch.setattr(voice_groups, "DROP_SHARE", 1.0)  # whatever the tiny random head hears
    qtbot.mouseClick(hint, Qt.LeftButton)
    idle()
    actor = window.project.actor
    assert actor is not None and actor.name == "session voice"
    assert sorted(actor.lines) == [f"take{i}.wav" for i in range(4)]  # the broken file is left out
    assert "4 of the 4 recordings in session share this voice" in controller.last_message
    assert not hint.isVisible()  # a reference is in use
    window.actions["undo"].trigger()
    assert window.project.actor is None and hint.isVisible()

    # Lines that all sound alike make no reference, and the user is told why.
    monkeypatch.setattr(voice_groups, "DROP_SHARE", 0.0)
    assert controller.make_from_voice()
    idle()
    assert window.project.actor is None and "sound alike" in controller.last_message

    # A clip without speech has no voice to match.
    sf.write(session / "hiss.wav", 0.0005 * np.random.default_rng(0).standard_normal(SAMPLE_RATE), SAMPLE_RATE)
    window.open_path(str(session / "hiss.wav"))
    idle()
    assert controller.make_from_voice()
    idle()
    assert window.project.actor is None and "No speech was detected in hiss.wav" in controller.last_message

    # A model without a voice space says so, and the status bar does not offer it.
    window.project.model = str(tiny_actor_model_dir)  # the project's model comes before the window's
    controller.update_actions()
    assert not hint.isVisible()
    assert controller.make_from_voice()
    idle()
    assert "voice space" in window.last_error
