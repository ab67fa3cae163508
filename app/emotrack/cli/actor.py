"""``emotrack actor-reference LINE... -o ACTOR.json``: an actor's reference for the emotion model.

The bundled emotion models read each window relative to the actor's own voice when they
have a reference made from many of that actor's lines (``emotrack.ml.emotion.actor``), with
the same model (``--model``); ``classify`` and ``analyze`` take it with ``--actor ACTOR.json``. The lines need no
labels, but they should span the actor's range: a session of one mood makes that mood
the actor's "normal".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.actor_reference import MIN_LINES
from ..core.atomic import output_path
from ..errors import ParameterError
from ..pipeline import build_actor_reference, load_emotion_model
from . import options


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "actor-reference", help="an actor's voice reference for the emotion model (from their lines)",
        description="Average the emotion encoder's state over the speech of an actor's lines and write it "
                    f"as JSON, for 'classify/analyze --actor'. Use at least {MIN_LINES} lines that span "
                    "several emotions.",
    )
    parser.add_argument("audio", nargs="+", metavar="LINE", help="the actor's recordings (any audio format)")
    parser.add_argument("-o", "--output", required=True, metavar="ACTOR.json")
    parser.add_argument("--name", default="", help="the actor's or character's name, kept in the file")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    options.add_audio_options(parser)
    options.add_model_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    target = output_path(args.output)
    model = load_emotion_model(args.model, args.device)
    progress = None if args.quiet else options.StderrProgress("actor reference", unit="lines")
    reference, failed = reference_from_files(model, args, name=args.name, progress=progress,
                                             note=" (line left out of the reference)")
    if reference is None:
        raise ParameterError("none of the lines could be read: no actor reference written")
    reference.save(target)
    print(f"wrote {options.one_line(target)}: {len(reference.lines)} lines, {reference.windows} speech windows",
          file=sys.stderr)
    warn_about(reference)
    return 2 if failed else 0


def reference_from_files(model, args: argparse.Namespace, settings=None, name: str = "", progress=None,
                         note: str = ""):
    """(the actor reference of the files ``args.audio`` that decode, or None when none
    does; {path: error} of the others, each also reported on stderr with ``note``). The
    files are decoded one at a time, so a session of any size fits in memory."""
    failed: dict[str, str] = {}
    lines = ((Path(path).name, clip) for path, clip in options.readable_audio(args, failed, note))
    try:
        reference = build_actor_reference(model, lines, settings, name=name, progress=progress,
                                          total=len(args.audio))
    except ParameterError:
        if len(failed) == len(set(args.audio)):
            return None, failed
        raise
    return reference, failed


def warn_about(reference) -> None:
    for note in reference.warnings():
        print(f"emotrack: warning: the actor reference: {note}", file=sys.stderr)
