"""``emotrack quality AUDIO... [--threshold T] [--model DIR] [--estimator DIR]``: reference-free quality.

Prints one JSON object per file and line:
``{"path": ..., "estimated_pesq": ..., "estimated_stoi": ..., "vqscore": ...,
"flagged_seconds": [[start, end], ...], "problems": [...]}`` (or
``{"path": ..., "error": ...}`` for a file that cannot be read; the others are still
scored and the exit code is 2); a score that
is not finite is written as ``null`` with a ``"note"`` (strict JSON, never NaN).
``estimated_pesq`` (PESQ-wb scale, 1.04-4.64) and ``estimated_stoi`` (0-1) are the
supervised estimator's prediction of what PESQ-wb and STOI would say against a clean
original (``ml/quality/mos_estimator.py``): the figure to sort lines by. VQScore is the
mean cosine between each frame's encoding and its nearest clean-speech
code (higher = cleaner); flagged regions are where the smoothed per-frame score falls
below the threshold (the model's calibrated ``flag_threshold`` unless ``--threshold``).
``problems`` names what is wrong (``core/audio_diagnosis.py``): each is
``{"kind", "start", "end", "severity"}`` plus what was measured (``snr_db`` for noise,
``cutoff_hz`` for band_limit, ``active_dbfs`` for level_low/level_high, ``rt60_s`` for
reverberation, ``count`` for dropouts, ``peak_dbfs`` for clipping).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from emotrack.json_lines import json_line
from emotrack.core.audio_diagnosis import diagnose
from emotrack.core.quality_regions import flag_regions
from emotrack.cli.options import one_line
from emotrack.errors import EmotrackError, ParameterError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", nargs="+", type=Path, help="audio files to score")
    parser.add_argument("--threshold", type=float, default=None,
                        help="frame score below which audio is flagged, in [-1, 1] "
                             "(default: the model's calibrated threshold)")
    parser.add_argument("--model", type=Path, default=None,
                        help="VQScore model folder (default: the bundled model)")
    parser.add_argument("--estimator", type=Path, default=None,
                        help="supervised quality estimator folder (default: the bundled one)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "quality", help="score speech quality without a clean reference (estimated PESQ and STOI, VQScore)",
        description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def quality_record(path: Path | str, samples_16k: np.ndarray, estimator, threshold: float
                   ) -> dict:
    """The JSON-ready result for one file."""
    result = estimator.score(samples_16k)
    estimates = {} if result.estimated_pesq is None else {
        "estimated_pesq": round(result.estimated_pesq, 3), "estimated_stoi": round(result.estimated_stoi, 3)}
    return {
        "path": str(path),
        **estimates,
        "vqscore": round(result.vqscore, 4),
        "flagged_seconds": flag_regions(result.frame_scores, result.frame_times, threshold),
        "problems": [problem.to_json() for problem in diagnose(samples_16k, 16_000)],
    }


def run(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    from emotrack.io.audio import load_audio
    from emotrack.ml.quality.vqscore import QualityEstimator

    if args.threshold is not None and not -1.0 <= args.threshold <= 1.0:
        raise ParameterError(f"--threshold must be in [-1, 1], got {args.threshold}")
    estimator = QualityEstimator.from_pretrained(args.model, device=args.device, mos_directory=args.estimator)
    threshold = (estimator.model.config.flag_threshold if args.threshold is None
                 else args.threshold)
    status = 0
    for path in args.audio:
        # Like classify: a bad file is one error line and an error record, and the other
        # files are still scored (exit 2 at the end).
        try:
            clip = load_audio(path)
            record = quality_record(path, clip.samples, estimator, threshold)
        except EmotrackError as error:
            print(f"emotrack: error: {one_line(error)}", file=sys.stderr)
            record, status = {"path": str(path), "error": str(error)}, 2
        print(json_line(record))
        sys.stdout.flush()
    return status
