"""Flagged (low-quality) audio regions from a per-frame quality curve. Pure numpy.

The quality model gives one score per STFT frame (e.g. VQScore's cos(z_t, zq_t), frame
centres every hop). A region is flagged where the smoothed score falls below a
threshold:

1. Smoothing: a centred moving average over ``smoothing_seconds`` (at least 1 frame)
   so that a single odd frame neither flags nor splits a region.
2. Each frame below ``threshold`` covers [t - hop/2, t + hop/2] (hop = frame spacing);
   consecutive low frames form one region, clipped to start at 0.
3. Regions separated by a gap of at most ``merge_gap`` seconds are merged.
4. Regions shorter than ``min_duration`` seconds (after merging) are dropped.

The app marks a keyframe as low-confidence when its time span overlaps a flagged
region (``overlaps_flagged``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_MIN_DURATION = 0.25
DEFAULT_MERGE_GAP = 0.2
DEFAULT_SMOOTHING_SECONDS = 0.1

Region = list[float]


def _frame_spacing(frame_times: np.ndarray) -> float:
    if frame_times.size < 2:
        raise ValueError("need at least two frame times to know the frame spacing")
    return float(np.median(np.diff(frame_times)))


def smooth(frame_scores: np.ndarray, width_frames: int) -> np.ndarray:
    """Centred moving average; the window shrinks at the edges (no zero padding)."""
    if width_frames <= 1:
        return np.asarray(frame_scores, dtype=np.float64)
    scores = np.asarray(frame_scores, dtype=np.float64)
    kernel = np.ones(width_frames)
    sums = np.convolve(scores, kernel, mode="same")
    counts = np.convolve(np.ones_like(scores), kernel, mode="same")
    return sums / counts


def flag_regions(frame_scores: Sequence[float] | np.ndarray,
                 frame_times: Sequence[float] | np.ndarray,
                 threshold: float,
                 min_duration: float = DEFAULT_MIN_DURATION,
                 merge_gap: float = DEFAULT_MERGE_GAP,
                 smoothing_seconds: float = DEFAULT_SMOOTHING_SECONDS) -> list[Region]:
    """``[[start, end], ...]`` seconds, sorted, where quality is below ``threshold``."""
    scores = np.asarray(frame_scores, dtype=np.float64)
    times = np.asarray(frame_times, dtype=np.float64)
    if scores.shape != times.shape or scores.ndim != 1:
        raise ValueError(f"frame_scores {scores.shape} and frame_times {times.shape} "
                         "must be 1-D of equal length")
    if min_duration < 0 or merge_gap < 0 or smoothing_seconds < 0:
        raise ValueError("min_duration, merge_gap and smoothing_seconds must be >= 0")
    if scores.size == 0:
        return []
    if scores.size == 1:
        spacing = 0.0
        low = scores < threshold
    else:
        spacing = _frame_spacing(times)
        width = max(1, int(round(smoothing_seconds / spacing)))
        low = smooth(scores, width) < threshold
    # Run boundaries of the boolean mask: +1 where a low run starts, -1 after it ends.
    edges = np.diff(np.concatenate([[0], low.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    regions: list[Region] = []
    for first, last in zip(starts, stops):
        start = max(0.0, times[first] - spacing / 2)
        end = times[last] + spacing / 2
        if regions and start - regions[-1][1] <= merge_gap:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    return [[round(s, 4), round(e, 4)] for s, e in regions if e - s >= min_duration]


def overlaps_flagged(start: float, end: float, regions: Sequence[Sequence[float]]) -> bool:
    """True if the span [start, end] shares any positive-length time with a region.

    A zero-length span (a keyframe instant) counts if it lies inside a region.
    """
    if end < start:
        raise ValueError(f"span end {end} is before its start {start}")
    for region_start, region_end in regions:
        if start == end:
            if region_start <= start <= region_end:
                return True
        elif start < region_end and region_start < end:
            return True
    return False
