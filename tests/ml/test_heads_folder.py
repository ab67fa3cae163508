"""A heads folder: another reading of a checkpoint's encoder (the bundled fast model reads
Whisper base's layer 2 through ``resources/models/emotion/fast/``), without a second copy
of the encoder's weights."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from emotrack.core.actor_reference import ACTOR_FOLDER
from emotrack.core.voice_groups import voice_space_folder
from emotrack.errors import ModelError
from emotrack.ml.emotion.modeling import EmotionModel
from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER
from emotrack.pipeline import checkpoint_labels
from emotrack.resources import checkpoint_dir, emotion_model_dir, is_heads_folder


def test_a_heads_folder_reads_its_checkpoint_through_its_own_heads(tiny_heads_folder):
    model_dir, heads = tiny_heads_folder
    assert is_heads_folder(heads) and not is_heads_folder(model_dir)
    assert checkpoint_dir(heads) == model_dir and checkpoint_dir(model_dir) == model_dir
    whole = EmotionModel.from_pretrained(model_dir, device="cpu")
    fast = EmotionModel.from_pretrained(heads, device="cpu")
    assert whole.plain_head is None and fast.plain_head.config.layers == (1,)
    assert fast.temperature == pytest.approx(0.8)
    for name, tensor in whole.model.state_dict().items():  # one encoder, read two ways
        assert torch.equal(tensor, fast.model.state_dict()[name]), name
    # Its voice space is the checkpoint's: it reads the encoder alone, which they share.
    assert voice_space_folder(heads) == model_dir / ACTOR_FOLDER
    assert fast.voice_space is not None and fast.voice_space.layers == whole.voice_space.layers
    # Every head of the heads folder reads layer 1 at most, so an analysis stops there.
    assert whole.encoder_layers() == 2 and fast.encoder_layers() == 1
    samples = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    probabilities = fast.classify(samples, 4000, 2000)
    assert probabilities.shape == (6,) and probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert not np.allclose(probabilities, whole.classify(samples, 4000, 2000))
    assert checkpoint_labels(str(heads)) == checkpoint_labels(str(model_dir))


def test_the_bundled_fast_model_is_a_heads_folder_of_the_accurate_one():
    fast = emotion_model_dir("fast")
    assert is_heads_folder(fast) and checkpoint_dir(fast) == emotion_model_dir("accurate")


def test_a_folder_without_a_plain_head_is_no_heads_folder(tiny_heads_folder):
    model_dir, heads = tiny_heads_folder
    shutil.rmtree(heads / PLAIN_FOLDER)
    assert not is_heads_folder(heads)
    with pytest.raises(ModelError, match="no config.json"):
        EmotionModel.from_pretrained(heads, device="cpu")


def test_a_view_through_a_heads_folder_shares_the_encoder_and_reads_as_loading_it(tiny_heads_folder):
    model_dir, heads = tiny_heads_folder
    whole = EmotionModel.from_pretrained(model_dir, device="cpu")
    view = whole.with_heads(heads)
    loaded = EmotionModel.from_pretrained(heads, device="cpu")
    assert view.whisper is whole.whisper and whole.plain_head is None  # one encoder and memo
    assert view.encoder_layers() == 1 and view.voice_space is not None
    assert view.temperature == pytest.approx(0.8) and whole.temperature == whole.checkpoint_temperature
    samples = np.random.default_rng(1).normal(0, 0.1, 16000).astype(np.float32)
    np.testing.assert_allclose(view.classify(samples, 4000, 2000), loaded.classify(samples, 4000, 2000), atol=1e-6)
