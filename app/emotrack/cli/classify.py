"""``emotrack classify AUDIO...``: one JSON line of clip-level emotion probabilities per file.

Pipelines and benchmarks rely on exactly this shape:
``{"path": ..., "probabilities": {"anger": ..., ...}, "label": ...}``. A file that cannot
be read gets ``{"path": ..., "error": ...}`` and the exit code becomes 2, so one bad
file does not stop a batch.

With ``--actor`` or ``--same-actor`` the accurate model reads each line relative to the
actor's own voice (``emotrack.ml.emotion.actor``).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import EmotrackError, ParameterError
from ..io.audio import load_audio
from ..pipeline import classify_clip, load_emotion_model
from . import options
from .actor import reference_from_files, warn_about
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
    options.add_actor_option(parser)
    parser.add_argument("--same-actor", action="store_true",
                        help="the files are lines of one actor: make the actor reference from all of them "
                             "first, then read each line relative to it (needs many lines of varied emotion)")
    options.add_analysis_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    settings = options.analysis_settings(args)
    if args.same_actor and args.actor:
        raise ParameterError("give --actor or --same-actor, not both")
    model = load_emotion_model(args.model, args.device)
    actor = options.actor_reference(model, args)
    failed: dict[str, str] = {}
    if args.same_actor:
        # Two passes: the reference needs every line before any line can be read against it.
        actor, failed = reference_from_files(model, args, settings)
        if actor is not None:
            warn_about(actor)
    if actor is not None:
        model = model.with_actor(actor)
    status = 2 if failed else 0
    for path in args.audio:
        if path in failed:
            print(json_line({"path": path, "error": failed[path]}), flush=True)
            continue
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
