"""Training-time augmentation and the on-disk cache of encoder hidden states."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emotrack.ml.emotion.augment import Augmentation, augment
from emotrack.ml.emotion.data import LabelledClip
from emotrack.ml.emotion.encoding_cache import cache_path, encode_corpus, load_encoding
from emotrack.ml.whisper.encoder import WhisperClipEncoder, frame_count
from tiny_whisper import N_LAYERS, mel_filters, noise, whisper_classifier

EVERYTHING = Augmentation(speed_probability=1.0, reverb_probability=1.0, noise_probability=1.0,
                          band_limit_probability=1.0, codec_probability=1.0)
SPEED_ONLY = Augmentation(speed_probability=1.0, reverb_probability=0.0, noise_probability=0.0,
                          band_limit_probability=0.0, codec_probability=0.0)



# --- augment -----------------------------------------------------------------------

def test_augment_is_deterministic_for_a_seed():
    samples, babble = noise(0.5, seed=1), [noise(0.3, seed=2), noise(0.4, seed=3)]
    for seed in range(4):
        first = augment(samples, np.random.default_rng(seed), babble)
        again = augment(samples, np.random.default_rng(seed), babble)
        np.testing.assert_array_equal(first, again)
    assert not np.array_equal(augment(samples, np.random.default_rng(0), babble),
                              augment(samples, np.random.default_rng(1), babble))


@pytest.mark.parametrize("settings", [Augmentation(), EVERYTHING], ids=["default", "everything"])
def test_augment_output_is_finite_float32_and_peaks_at_most_one(settings):
    loud = 3.0 * noise(0.4, seed=4)  # peak well above full scale
    for seed in range(8):
        rng = np.random.default_rng(seed)
        for samples in (loud, noise(0.4, seed=seed)):
            out = augment(samples, rng, [noise(0.3, seed=9)], settings)
            assert out.dtype == np.float32
            assert np.isfinite(out).all()
            assert np.max(np.abs(out)) <= 1.0
            assert abs(len(out) - len(samples)) <= len(samples) * 0.15


def test_augment_of_silence_stays_finite():
    out = augment(np.zeros(4000, np.float32), np.random.default_rng(0), (), EVERYTHING)
    assert np.isfinite(out).all()


def test_speed_changes_the_length_within_the_configured_range():
    samples = noise(1.0, seed=5)
    low, high = SPEED_ONLY.speed_range
    lengths = {len(augment(samples, np.random.default_rng(seed), (), SPEED_ONLY)) for seed in range(12)}
    assert len(lengths) > 1
    for length in lengths:
        assert len(samples) / high - 2 <= length <= len(samples) / low + 2


def test_no_augmentation_leaves_the_clip_alone():
    none = Augmentation(speed_probability=0, reverb_probability=0, noise_probability=0,
                        band_limit_probability=0, codec_probability=0)
    samples = noise(0.3, seed=6)
    np.testing.assert_array_equal(augment(samples, np.random.default_rng(0), (), none), samples)


# --- encoding_cache ----------------------------------------------------------------

@pytest.fixture(scope="module")
def encoder() -> WhisperClipEncoder:
    return WhisperClipEncoder(whisper_classifier().encoder, mel_filters())


@pytest.fixture
def clips(tmp_path) -> list[LabelledClip]:
    return [LabelledClip(tmp_path / f"clip{i}.wav", "test", f"s{i}", "joy", noise(0.6 + 0.5 * i, seed=20 + i))
            for i in range(3)]


def test_encode_corpus_writes_one_file_per_clip_and_copy(tmp_path, encoder, clips):
    cache = tmp_path / "cache"
    messages = []
    encode_corpus(encoder, clips, cache, copies=2, log=messages.append)
    files = sorted(p.name for p in cache.iterdir())
    assert files == sorted(cache_path(cache, clip, copy).name for clip in clips for copy in range(2))
    assert messages[-1] == "encoded 6/6"
    for clip in clips:
        states = load_encoding(cache, clip, 0)
        assert states.dtype == np.float16
        assert states.shape == (N_LAYERS + 1, frame_count(len(clip.samples)), 16)


def test_copy_zero_is_the_clip_as_recorded(tmp_path, encoder, clips):
    cache = tmp_path / "cache"
    encode_corpus(encoder, clips, cache, copies=2, log=lambda _: None)
    with torch.inference_mode():
        for clip in clips:
            expected = encoder.encode(clip.samples).hidden_states.to(torch.float16).numpy()
            np.testing.assert_array_equal(load_encoding(cache, clip, 0), expected)
    # Copy 1 is augmented (a draw may leave one clip unchanged, not all three).
    assert any(load_encoding(cache, clip, 1).shape != load_encoding(cache, clip, 0).shape
               or not np.array_equal(load_encoding(cache, clip, 1), load_encoding(cache, clip, 0))
               for clip in clips)


def test_augmented_copies_are_deterministic_per_seed(tmp_path, encoder, clips):
    encode_corpus(encoder, clips[:1], tmp_path / "a", copies=2, seed=7, log=lambda _: None)
    encode_corpus(encoder, clips[:1], tmp_path / "b", copies=2, seed=7, log=lambda _: None)
    np.testing.assert_array_equal(load_encoding(tmp_path / "a", clips[0], 1),
                                  load_encoding(tmp_path / "b", clips[0], 1))


def test_encode_corpus_resumes_and_skips_existing_files(tmp_path, encoder, clips, monkeypatch):
    cache = tmp_path / "cache"
    encode_corpus(encoder, clips, cache, copies=2, log=lambda _: None)
    before = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}

    def must_not_encode(*args, **kwargs):
        raise AssertionError("a cached encoding was computed again")

    monkeypatch.setattr(encoder, "encode", must_not_encode)
    messages = []
    encode_corpus(encoder, clips, cache, copies=2, log=messages.append)
    assert messages == []
    monkeypatch.undo()

    # An interrupted run: one file missing; only that one is encoded.
    missing = cache_path(cache, clips[1], 1)
    missing.unlink()
    encode_corpus(encoder, clips, cache, copies=2, log=messages.append)
    assert messages == ["encoded 1/1"]
    after = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    assert set(after) == set(before)
    assert all(after[name] == before[name] for name in before if name != missing.name)
    assert not list(cache.glob("*.partial.npy"))


def test_cache_path_depends_on_the_resolved_clip_path_and_copy(tmp_path, clips):
    relative = LabelledClip(Path("clip0.wav"), "test", "s0", "joy", clips[0].samples)
    cache = tmp_path / "cache"
    assert cache_path(cache, clips[0], 0) != cache_path(cache, clips[0], 1)
    assert cache_path(cache, clips[0], 0) != cache_path(cache, clips[1], 0)
    assert cache_path(cache, relative, 0).parent == cache
