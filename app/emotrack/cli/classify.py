"""``emotrack classify AUDIO...``: one JSON line of clip-level emotion probabilities per file.

Pipelines and benchmarks rely on exactly this shape:
``{"path": ..., "probabilities": {"anger": ..., ...}, "label": ...}``. A file that cannot
be read gets ``{"path": ..., "error": ...}`` and the exit code becomes 2, so one bad
file does not stop a batch.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import EmotrackError
from ..io.audio import load_audio
from ..pipeline import classify_clip, load_emotion_model
from . import options
from ..json_lines import json_line


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "classify", help="clip-level emotion of each file, as JSON lines",
        description="Print one JSON object per file: "
                    '{"path": ..., "probabilities": {"anger": ..., ...}, "label": ...}',
    )
    parser.add_argument("audio", nargs="+", metavar="AUDIO")
    options.add_audio_options(parser)
    options.add_model_options(parser)
    options.add_analysis_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    settings = options.analysis_settings(args)
    model = load_emotion_model(args.model, args.device)
    status = 0
    for path in args.audio:
        try:
            clip = load_audio(path, channel=args.channel, raw=options.raw_format(args))
            probabilities = classify_clip(clip, model, settings)
            record = {
                "path": path,
                "probabilities": {k: round(v, 6) for k, v in probabilities.items()},
                "label": max(probabilities, key=probabilities.get),
            }
        except EmotrackError as error:
            print(f"emotrack: error: {options.one_line(error)}", file=sys.stderr)
            record, status = {"path": path, "error": str(error)}, 2
        print(json_line(record), flush=True)
    return status
