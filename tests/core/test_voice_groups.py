"""Grouping lines by voice (plain numpy): the clustering, the voice space file, and which
groups keep their reference."""

from __future__ import annotations

import numpy as np
import pytest

from emotrack.core import voice_groups
from emotrack.core.voice_groups import VoiceSpace, group_voices
from emotrack.errors import ModelError, ParameterError


def unit_points(centres: list[np.ndarray], counts: list[int], spread: float = 0.05, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = [c + spread * rng.standard_normal((n, len(c))) for c, n in zip(centres, counts)]
    points = np.concatenate(rows)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_two_voices_are_told_apart_and_numbered_in_order_of_appearance():
    a, b = np.array([1.0, 0, 0, 0]), np.array([0, 1.0, 0, 0])
    points = unit_points([b, a], [5, 7])
    order = np.random.default_rng(1).permutation(12)
    groups = group_voices(points[order], threshold=0.6)
    assert groups[0] == 0 and set(groups) == {0, 1}
    truth = (order >= 5).astype(int)  # 0 for voice b, 1 for voice a
    assert len(set(zip(groups, truth))) == 2  # one group per voice, nothing mixed


def test_one_voice_stays_one_group_and_tiny_batches_work():
    points = unit_points([np.array([0.0, 0, 1, 0])], [9])
    assert set(group_voices(points, threshold=0.6)) == {0}
    assert group_voices(points[:1], 0.6).tolist() == [0]
    assert group_voices(np.zeros((0, 4)), 0.6).tolist() == []


def test_a_batch_beyond_the_clustering_limit_joins_the_nearest_group(monkeypatch):
    monkeypatch.setattr(voice_groups, "MAX_CLUSTERED_LINES", 10)
    a, b = np.array([1.0, 0, 0]), np.array([0, 0, 1.0])
    points = unit_points([a, b], [20, 20])
    groups = group_voices(points, threshold=0.6)
    assert groups[:20].tolist() == [0] * 20 and groups[20:].tolist() == [1] * 20


def toy_space(threshold: float = 0.6) -> VoiceSpace:
    rng = np.random.default_rng(0)
    return VoiceSpace(layers=(1, 2), mean=rng.standard_normal(6), scale=np.ones(6),
                      projection=rng.standard_normal((6, 3)), centre=np.zeros(3), threshold=threshold)


def test_voice_space_round_trips_and_embeds_unit_vectors(tmp_path):
    space = toy_space()
    space.save(tmp_path)
    loaded = VoiceSpace.load(tmp_path)
    assert loaded.layers == (1, 2) and loaded.threshold == pytest.approx(0.6)
    states = np.random.default_rng(1).standard_normal((4, 6))
    np.testing.assert_allclose(loaded.embed(states), space.embed(states), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(loaded.embed(states), axis=1), 1.0, atol=1e-5)
    assert VoiceSpace.load(tmp_path / "nowhere") is None


def test_voice_space_refuses_what_does_not_fit(tmp_path):
    with pytest.raises(ParameterError, match="needs 6"):
        toy_space().embed(np.zeros((2, 5)))
    with pytest.raises(ModelError, match="inconsistent"):
        VoiceSpace(layers=(1,), mean=np.zeros(6), scale=np.ones(5), projection=np.zeros((6, 3)),
                   centre=np.zeros(3), threshold=0.6)
    with pytest.raises(ModelError, match="threshold"):
        toy_space(threshold=0.0)
    (tmp_path / voice_groups.VOICE_SPACE_FILE).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ModelError, match="damaged voice space"):
        VoiceSpace.load(tmp_path)


def test_a_one_sided_group_is_read_without_a_reference():
    states = [(np.full(4, 3.0 * i), 3) for i in range(6)]  # three windows of value i each
    groups = np.array([0, 0, 0, 1, 1, 1])
    moods = ["anger", "sadness", "joy", "anger", "anger", "anger"]
    found = voice_groups.voice_groups(groups, states, moods, [f"l{i}" for i in range(6)], "m", (2, 3))
    varied, angry = found
    assert varied.members == (0, 1, 2) and varied.reference is not None and not varied.one_sided
    assert varied.reference.lines == ("l0", "l1", "l2") and varied.reference.windows == 9
    np.testing.assert_allclose(varied.reference.mean, 1.0)
    assert angry.reference is None and angry.one_sided
    assert "anger" in angry.describe() and "read alone" in angry.describe()
    assert "own reference" in varied.describe() and angry.warns and not varied.warns
    alone = voice_groups.voice_groups(np.array([0]), states[:1], ["joy"], ["l0"], "m", (2, 3))[0]
    assert alone.one_sided and not alone.warns and alone.describe() == "voice 1: 1 line, read alone"
