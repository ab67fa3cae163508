"""Temperature scaling and reliability (expected calibration error)."""

from __future__ import annotations

import numpy as np
import pytest

from emotrack.core.calibration import clip_probabilities, fit_temperature, reliability, softmax


def sampled_clips(t_true: float, n_clips: int = 1500, n_labels: int = 6, seed: int = 0):
    """Single-window clips whose labels are drawn from softmax(logits / t_true)."""
    rng = np.random.default_rng(seed)
    logits = 3.0 * rng.standard_normal((n_clips, n_labels))
    p = softmax(logits, t_true)
    truth = np.array([rng.choice(n_labels, p=row) for row in p])
    return [row[None, :] for row in logits], truth


@pytest.mark.parametrize("t_true", [0.5, 2.5])
def test_fit_temperature_recovers_the_temperature_labels_were_drawn_at(t_true):
    window_logits, truth = sampled_clips(t_true, seed=int(t_true * 10))
    fitted = fit_temperature(window_logits, truth)
    assert fitted == pytest.approx(t_true, rel=0.15)


def test_fit_temperature_uses_the_mean_of_window_probabilities():
    # Two windows per clip: the clip's probability is the mean of the two softmaxes.
    rng = np.random.default_rng(1)
    window_logits = [2.0 * rng.standard_normal((2, 4)) for _ in range(1000)]
    probabilities = clip_probabilities(window_logits, 1.7)
    truth = np.array([rng.choice(4, p=row) for row in probabilities])
    assert fit_temperature(window_logits, truth) == pytest.approx(1.7, rel=0.2)


def test_fit_temperature_stays_within_bounds():
    # Always right with the top logit: the NLL keeps falling as T shrinks.
    logits = [np.array([[5.0, 0.0, -1.0]]), np.array([[0.0, 4.0, 1.0]])]
    fitted = fit_temperature(logits, np.array([0, 1]), bounds=(0.1, 10.0))
    assert 0.1 <= fitted < 0.11


def test_fit_temperature_rejects_no_clips():
    with pytest.raises(ValueError, match="no clips"):
        fit_temperature([], np.array([], dtype=int))


def test_clip_probabilities_are_mean_window_softmaxes():
    windows = np.array([[0.0, np.log(3.0)], [np.log(3.0), 0.0]])
    np.testing.assert_allclose(clip_probabilities([windows], 1.0), [[0.5, 0.5]])
    np.testing.assert_allclose(clip_probabilities([windows[:1]], 1.0), [[0.25, 0.75]])


def test_softmax_is_stable_for_large_logits():
    p = softmax(np.array([1000.0, 1000.0, -1000.0]), 0.5)
    np.testing.assert_allclose(p, [0.5, 0.5, 0.0])


def test_reliability_and_ece_on_a_hand_computed_example():
    probabilities = np.array([
        [0.95, 0.05],  # bin 9, confidence 0.95, right
        [0.85, 0.15],  # bin 8, confidence 0.85, wrong
        [0.15, 0.85],  # bin 8, confidence 0.85, right
        [0.6, 0.4],    # bin 5, confidence 0.6, right
    ])
    truth = np.array([0, 1, 1, 0])
    result = reliability(probabilities, truth, bins=10)
    assert result.count.tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 2, 1]
    np.testing.assert_allclose(result.confidence[[5, 8, 9]], [0.6, 0.85, 0.95])
    np.testing.assert_allclose(result.accuracy[[5, 8, 9]], [1.0, 0.5, 1.0])
    assert result.confidence[0] == 0 and result.accuracy[0] == 0  # empty bins are zero, not NaN
    # (1 * |1 - 0.6| + 2 * |0.5 - 0.85| + 1 * |1 - 0.95|) / 4
    assert result.expected_calibration_error == pytest.approx((0.4 + 0.7 + 0.05) / 4)


def test_reliability_puts_a_bin_edge_confidence_in_the_lower_bin_and_one_in_the_last():
    probabilities = np.array([[0.5, 0.5], [1.0, 0.0]])
    result = reliability(probabilities, np.array([0, 0]), bins=4)
    assert result.count.tolist() == [0, 1, 0, 1]


def test_perfectly_calibrated_confident_predictions_have_zero_ece():
    probabilities = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert reliability(probabilities, np.array([0, 2])).expected_calibration_error == 0.0


def test_reliability_of_no_predictions_has_zero_ece():
    result = reliability(np.zeros((0, 3)), np.zeros(0, dtype=int))
    assert result.count.sum() == 0
    assert result.expected_calibration_error == 0.0
