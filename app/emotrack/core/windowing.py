"""Window positions over a clip and their grouping into keyframe frames (patent FIG. 2B)."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError


def window_starts(n_samples: int, window: int, hop: int) -> np.ndarray:
    """Start samples of windows covering ``n_samples``.

    Windows step by ``hop``; the last one may run past the end (it is zero-padded by the
    model wrapper). A clip shorter than one window gets a single window at 0.
    """
    if window <= 0 or hop <= 0:
        raise ParameterError(f"window and hop must be positive, got {window} and {hop}")
    if n_samples <= 0:
        return np.zeros(0, dtype=np.int64)
    if n_samples <= window:
        return np.zeros(1, dtype=np.int64)
    count = int(np.ceil((n_samples - window) / hop)) + 1
    return np.arange(count, dtype=np.int64) * hop


def window_centres(starts: np.ndarray, window: int, n_samples: int) -> np.ndarray:
    """Centre of each window's real (unpadded) audio, in samples."""
    ends = np.minimum(starts + window, n_samples)
    return (starts + ends) / 2.0


def frame_starts(n_samples: int, frame: int) -> np.ndarray:
    """Starts of keyframe frames of ``frame`` samples covering the clip."""
    if frame <= 0:
        raise ParameterError(f"keyframe frame length must be positive, got {frame}")
    return np.arange(0, max(n_samples, 1), frame, dtype=np.int64)


def pool_windows_into_frames(
    probabilities: np.ndarray,
    centres: np.ndarray,
    frames: np.ndarray,
    frame: int,
) -> np.ndarray:
    """Mean window vector of every frame, from the windows whose centre lies in it.

    A frame that no window centre falls into (possible at the clip edges) takes the
    window whose centre is nearest to the frame's middle.
    """
    n_frames = len(frames)
    index = np.clip((centres // frame).astype(np.int64), 0, n_frames - 1)
    sums = np.zeros((n_frames, probabilities.shape[1]))
    np.add.at(sums, index, probabilities)
    counts = np.bincount(index, minlength=n_frames)
    pooled = np.empty_like(sums)
    filled = counts > 0
    pooled[filled] = sums[filled] / counts[filled, None]
    for i in np.flatnonzero(~filled):
        nearest = np.argmin(np.abs(centres - (frames[i] + frame / 2)))
        pooled[i] = probabilities[nearest]
    return pooled


def anchor_time(frame_start: np.ndarray, frame_end: np.ndarray, anchor: str) -> np.ndarray:
    if anchor == "start":
        return frame_start.astype(np.float64)
    if anchor == "end":
        return frame_end.astype(np.float64)
    return (frame_start + frame_end) / 2.0
