"""Analysis ▸ Learn from My Corrections… / Revert to Previous Model, with the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QPushButton

from emotrack.core import commands
from emotrack.core.emotions import EMOTIONS

ANGER = EMOTIONS.index("anger")


@pytest.fixture
def corrected(analysed, tmp_path):
    """The analysed tone clip with its first three keys set to anger, personal models in tmp."""
    window = analysed
    window.corrections.models_dir = tmp_path / "models"
    window.corrections.show_message = lambda message: setattr(window.corrections, "last_message", message)
    target = np.eye(len(window.project.labels))[ANGER]
    for key in window.project.keyframes[:3]:
        window.push(commands.set_keyframe_values(window.project, key.id, target))
    return window


def wait_learned(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.corrections.worker is None and window.worker is None, timeout=30_000)


def test_learn_switches_to_the_personal_model_and_revert_goes_back(qtbot, corrected, tiny_emotion_model_dir):
    window = corrected
    actions = window.actions
    assert actions["learn_corrections"].isEnabled() and not actions["revert_model"].isEnabled()
    steps, original = window.undo_stack.count(), window.project.model

    actions["learn_corrections"].trigger()
    assert window.corrections.dialog is not None and not actions["learn_corrections"].isEnabled()
    wait_learned(qtbot, window)
    assert window.last_error == ""

    personal = Path(window.project.model)
    assert personal.parent == window.corrections.models_dir and personal.name.startswith("personal-")
    report = json.loads((personal / "corrections.json").read_text())
    assert report["base_model_path"] == str(Path(tiny_emotion_model_dir).resolve())
    assert "Held-out accuracy" in window.corrections.last_message
    assert window.undo_stack.count() == steps + 1
    assert window.undo_stack.text(steps) == "Analyse with personal model"
    assert all(key.locked for key in window.project.keyframes[:3])  # corrections survive
    assert actions["revert_model"].isEnabled()

    actions["revert_model"].trigger()
    wait_learned(qtbot, window)
    assert window.project.model == str(tiny_emotion_model_dir)
    assert not actions["revert_model"].isEnabled()

    window.undo_stack.undo()  # the revert is undoable ...
    assert window.project.model == str(personal)
    window.undo_stack.undo()  # ... and so is the switch to the learned model
    assert window.project.model == original and not actions["revert_model"].isEnabled()


def test_cancel_writes_no_model(qtbot, corrected, monkeypatch):
    from emotrack.ml.emotion import corrections as learning

    window = corrected
    original, keys = window.project.model, window.project.keyframes
    # The tiny model learns in a blink: press Cancel, in effect, while it listens.
    listen = learning.pooled_states

    def cancelled_midway(*args, **kwargs):
        worker.cancel()  # what the dialog's Cancel button does (checked below)
        return listen(*args, **kwargs)

    monkeypatch.setattr(learning, "pooled_states", cancelled_midway)
    window.corrections.learn()
    worker = window.corrections.worker
    window.corrections.dialog.findChild(QPushButton).click()  # Cancel
    assert worker.is_cancelled
    wait_learned(qtbot, window)
    assert window.project.model == original and window.project.keyframes is keys
    assert not any(window.corrections.models_dir.glob("*personal-*"))
    assert window.statusBar().currentMessage() == "Learning cancelled"


def test_learning_without_corrections_says_what_to_do(window, qtbot, tone_wav):
    assert window.open_path(tone_wav)
    qtbot.waitUntil(lambda: window.loader is None and window.worker is None, timeout=30_000)
    assert not window.corrections.learn()
    assert "No corrected keys" in window.last_error


def test_a_clip_read_against_an_actor_reference_teaches_the_actor_head(qtbot, make_window, tone_wav, tmp_path,
                                                                       tiny_actor_model_dir):
    """The keys came from the actor head, so that head learns; the re-analysis with the
    personal model keeps the reference, and its reading moves toward the correction."""
    from emotrack.core.actor_reference import ActorReference
    from emotrack.ml.emotion import EmotionModel

    window = make_window()
    window.model_dir = str(tiny_actor_model_dir)
    window.open_path(tone_wav)
    qtbot.waitUntil(lambda: window.loader is None and window.worker is None, timeout=30_000)
    head = EmotionModel.from_pretrained(tiny_actor_model_dir, device="cpu").actor_head.config
    reference = ActorReference(mean=np.full(head.d_model, 0.05, np.float32), model=head.reference_id,
                               layers=head.layers, lines=tuple(f"l{i}.wav" for i in range(12)), windows=60)
    assert window.actor_controller.apply(reference)
    qtbot.waitUntil(lambda: window.worker is None, timeout=30_000)
    assert window.project.actor is reference

    window.corrections.models_dir = tmp_path / "models"
    window.corrections.show_message = lambda message: setattr(window.corrections, "last_message", message)
    target = np.eye(len(window.project.labels))[ANGER]
    before = window.project.windows.probabilities[:, ANGER].mean()
    for key in window.project.keyframes[:3]:
        window.push(commands.set_keyframe_values(window.project, key.id, target))
    window.actions["learn_corrections"].trigger()
    wait_learned(qtbot, window)
    assert window.last_error == ""
    report = json.loads((Path(window.project.model) / "corrections.json").read_text())
    assert report["heads"] == ["actor"] and "actor head" in window.corrections.last_message
    assert window.project.actor is reference  # kept through the switch to the personal model
    # What the animator sees is the actor head's reading: after learning it leans toward anger.
    assert window.project.windows.probabilities[:, ANGER].mean() > before + 0.05
