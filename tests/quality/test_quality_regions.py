"""Flagged-region formulas: threshold, frame extent, merge gap, minimum duration."""

from __future__ import annotations

import numpy as np
import pytest

from emotrack.core.quality_regions import flag_regions, overlaps_flagged, smooth

HOP = 0.016


def curve(low_spans: list[tuple[int, int]], frames: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Scores 0.9 with 0.2 in each [first, last] frame span (inclusive)."""
    scores = np.full(frames, 0.9)
    for first, last in low_spans:
        scores[first:last + 1] = 0.2
    return scores, np.arange(frames) * HOP


def test_no_region_when_everything_is_above_threshold():
    scores, times = curve([])
    assert flag_regions(scores, times, threshold=0.5) == []


def test_region_extent_is_half_a_frame_either_side():
    scores, times = curve([(50, 79)])
    regions = flag_regions(scores, times, 0.5, min_duration=0.0, merge_gap=0.0,
                           smoothing_seconds=0.0)
    assert regions == [[pytest.approx(50 * HOP - HOP / 2), pytest.approx(79 * HOP + HOP / 2)]]


def test_region_at_start_is_clipped_to_zero():
    scores, times = curve([(0, 30)])
    regions = flag_regions(scores, times, 0.5, min_duration=0.0, smoothing_seconds=0.0)
    assert regions[0][0] == 0.0


def test_merge_gap_joins_close_regions_only():
    # Gap between the regions: from frame 60.5 to frame 69.5 = 9 frames = 0.144 s.
    scores, times = curve([(30, 60), (70, 100)])
    merged = flag_regions(scores, times, 0.5, min_duration=0.0, merge_gap=0.15,
                          smoothing_seconds=0.0)
    apart = flag_regions(scores, times, 0.5, min_duration=0.0, merge_gap=0.14,
                         smoothing_seconds=0.0)
    assert len(merged) == 1 and merged[0][1] == pytest.approx(100.5 * HOP)
    assert len(apart) == 2


def test_min_duration_drops_short_regions_after_merging():
    scores, times = curve([(20, 24), (120, 160)])  # 5 frames = 0.08 s, 41 frames = 0.656 s
    regions = flag_regions(scores, times, 0.5, min_duration=0.1, merge_gap=0.0,
                           smoothing_seconds=0.0)
    assert len(regions) == 1 and regions[0][0] == pytest.approx(119.5 * HOP)


def test_smoothing_ignores_a_single_odd_frame():
    scores, times = curve([(100, 100)])
    assert flag_regions(scores, times, 0.5, min_duration=0.0, smoothing_seconds=0.1) == []
    assert len(flag_regions(scores, times, 0.5, min_duration=0.0, smoothing_seconds=0.0)) == 1


def test_smooth_is_a_centred_mean_without_zero_padding():
    np.testing.assert_allclose(smooth(np.array([1.0, 1.0, 1.0, 4.0]), 3), [1, 1, 2, 2.5])


def test_threshold_is_strict():
    scores = np.array([0.5, 0.5, 0.4, 0.4, 0.5])
    regions = flag_regions(scores, np.arange(5) * HOP, 0.5, min_duration=0.0,
                           smoothing_seconds=0.0)
    assert regions == [[pytest.approx(1.5 * HOP), pytest.approx(3.5 * HOP)]]


def test_invalid_inputs():
    with pytest.raises(ValueError):
        flag_regions(np.zeros(3), np.zeros(4), 0.5)
    with pytest.raises(ValueError):
        flag_regions(np.zeros(3), np.arange(3.0), 0.5, min_duration=-1)
    assert flag_regions(np.zeros(0), np.zeros(0), 0.5) == []


def test_overlaps_flagged():
    regions = [[1.0, 2.0], [5.0, 6.5]]
    assert overlaps_flagged(1.5, 1.7, regions)
    assert overlaps_flagged(0.0, 1.01, regions)
    assert overlaps_flagged(6.0, 9.0, regions)
    assert not overlaps_flagged(2.0, 5.0, regions)  # touching ends share no time
    assert overlaps_flagged(5.5, 5.5, regions)  # an instant inside a region
    assert not overlaps_flagged(3.0, 3.0, regions)
    assert not overlaps_flagged(0.0, 1.0, [])
    with pytest.raises(ValueError):
        overlaps_flagged(2.0, 1.0, regions)
