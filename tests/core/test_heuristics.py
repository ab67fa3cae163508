"""Every heuristic formula in emotrack.core.heuristics, checked against hand computation."""

import dataclasses

import numpy as np
import pytest

from emotrack.core import heuristics as H
from emotrack.core.emotions import EMOTIONS
from emotrack.core.settings import HeuristicSettings
from emotrack.errors import ParameterError

A, D, F, J, N, S = range(6)


def vec(**shares):
    v = np.zeros(6)
    for name, value in shares.items():
        v[EMOTIONS.index(name)] = value
    return v


def test_smoothing_spreads_emotion_over_neighbours_and_neutral_fills_the_rest():
    v = np.array([vec(neutral=1.0), vec(anger=0.9, neutral=0.1), vec(neutral=1.0)])
    out = H.smooth(v, 3)
    np.testing.assert_allclose(out[1, A], 0.3)  # (0 + 0.9 + 0) / 3
    np.testing.assert_allclose(out[0, A], 0.3)  # edge padded: (0 + 0 + 0.9) / 3
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[1, N], 0.7)


def test_smoothing_of_constant_track_changes_nothing():
    v = np.tile(vec(joy=0.6, sadness=0.1, neutral=0.3), (5, 1))
    np.testing.assert_allclose(H.smooth(v, 4), v)


def test_contrast_sharpens_and_flattens():
    v = np.array([vec(anger=0.6, sadness=0.4)])
    sharp = H.contrast(v, 2.0)
    np.testing.assert_allclose(sharp[0, [A, S]], [0.36 / 0.52, 0.16 / 0.52])
    flat = H.contrast(v, 0.5)
    assert flat[0, A] - flat[0, S] < 0.2


def test_strength_moves_removed_share_into_neutral():
    v = np.array([vec(anger=0.8, neutral=0.2)])
    strengths = np.ones(6)
    strengths[A] = 0.5
    np.testing.assert_allclose(H.apply_strengths(v, strengths), [vec(anger=0.4, neutral=0.6)])
    strengths[A] = 0.0
    np.testing.assert_allclose(H.apply_strengths(v, strengths), [vec(neutral=1.0)])


def test_neutral_strength_lets_other_emotions_show():
    v = np.array([vec(joy=0.2, neutral=0.8)])
    strengths = np.ones(6)
    strengths[N] = 0.25
    np.testing.assert_allclose(H.apply_strengths(v, strengths), [vec(joy=0.5, neutral=0.5)])


@pytest.mark.parametrize("alpha", [0.3, 0.9])
def test_prior_blend_is_linear(alpha):
    v = np.array([vec(anger=1.0)])
    np.testing.assert_allclose(H.blend_prior(v, "joy", alpha), [vec(anger=1 - alpha, joy=alpha)])


def test_threshold_drops_minor_emotions_but_keeps_the_strongest():
    v = np.array([vec(anger=0.5, joy=0.3, sadness=0.15, neutral=0.05)])
    np.testing.assert_allclose(H.threshold(v, 0.2), [vec(anger=0.625, joy=0.375)])
    np.testing.assert_allclose(H.threshold(np.array([vec(anger=0.1)]) + 0.15, 0.9).max(), 1.0)


def test_keep_top_k():
    v = np.array([vec(anger=0.4, joy=0.3, sadness=0.2, neutral=0.1)])
    np.testing.assert_allclose(H.keep_top(v, 2), [vec(anger=4 / 7, joy=3 / 7)])
    np.testing.assert_allclose(H.keep_top(v, 6), v)


def test_apply_runs_enabled_steps_in_order_and_rows_sum_to_one():
    rng = np.random.default_rng(1)
    v = rng.dirichlet(np.ones(6), 20)
    settings = HeuristicSettings(
        smoothing_enabled=True, smoothing=4, contrast_enabled=True, contrast=1.5,
        prior_enabled=True, prior_emotion="sadness", prior_strength=0.3,
        threshold_enabled=True, threshold=0.1, max_emotions_enabled=True, max_emotions=2,
    ).with_strength("anger", 0.5)
    out = H.apply(v, settings)
    expected = H.smooth(H._renormalise(v), 4)
    expected = H.contrast(expected, 1.5)
    expected = H.apply_strengths(expected, np.array(settings.strengths))
    expected = H.blend_prior(expected, "sadness", 0.3)
    expected = H.keep_top(H.threshold(expected, 0.1), 2)
    np.testing.assert_allclose(out, expected)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert ((out > 0).sum(axis=1) <= 2).all()


def test_apply_with_defaults_is_identity_on_normalised_input():
    v = np.random.default_rng(2).dirichlet(np.ones(6), 5)
    np.testing.assert_allclose(H.apply(v, HeuristicSettings()), v)


def test_extra_labels_keep_their_share():
    v = np.array([[0.4, 0, 0, 0, 0.4, 0, 0.2]])  # seventh column: an extra label
    out = H.apply(v, HeuristicSettings(prior_enabled=True, prior_emotion="joy", prior_strength=1.0))
    np.testing.assert_allclose(out, [[0, 0, 0, 0.8, 0, 0, 0.2]])


@pytest.mark.parametrize("field, value, words", [
    ("smoothing", 1, "between 2 and 10"), ("smoothing", 11, "between 2 and 10"),
    ("prior_strength", 1.5, "prior strength"), ("prior_emotion", "bored", "prior emotion"),
    ("max_emotions", 0, "max emotions"), ("contrast", 0.0, "contrast"), ("threshold", -0.1, "threshold"),
    ("strengths", (1.0,) * 5, "6 values"), ("smoothing", 2.5, "whole number"),
])
def test_settings_reject_absurd_values_with_a_clear_message(field, value, words):
    with pytest.raises(ParameterError, match=words):
        dataclasses.replace(HeuristicSettings(), **{field: value})


def test_strength_range_is_checked_per_emotion():
    with pytest.raises(ParameterError, match="sadness strength"):
        HeuristicSettings().with_strength("sadness", 1.2)
