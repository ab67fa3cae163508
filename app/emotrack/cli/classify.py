"""``emotrack classify AUDIO...``: one JSON line of clip-level emotion probabilities per file.

Pipelines and benchmarks rely on exactly this shape:
``{"path": ..., "probabilities": {"anger": ..., ...}, "label": ...}``. A file that cannot
be read gets ``{"path": ..., "error": ...}`` and the exit code becomes 2, so one bad
file does not stop a batch.

Given several files, a bundled model groups them by voice and reads each line relative
to its own voice's lines (``emotrack.ml.emotion.voices``); each record then also says
``"voice": N`` (1, 2, ... in the order the voices first appear). ``--each-alone`` reads
every line on its own instead, so that a line's result never depends on the others in
the batch. With ``--actor`` or ``--same-actor`` every line is read relative to one
actor's reference (``emotrack.ml.emotion.actor``); with ``--actor folder`` each file is read
relative to the lines in its folder that share its voice.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import EmotrackError, ParameterError
from ..io.audio import load_audio
from ..pipeline import classify_clip, load_emotion_model, output_labels
from . import options
from .actor import warn_about
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
    parser.add_argument("--each-alone", action="store_true",
                        help="read every file on its own (by default several files are grouped by voice and "
                             "each line is read relative to its voice's other lines)")
    options.add_analysis_options(parser)
    parser.set_defaults(func=run)


def run_reading_all(args: argparse.Namespace, model, settings, one_actor: bool) -> int:
    """Read every file first (one encoder pass each), then read each line against its
    reference: the reference of all the files (``--same-actor``) or of its voice's group;
    print the records in the order given."""
    from ..ml.emotion.voices import read_as_one_actor, read_by_voice

    failed: dict[str, str] = {}
    lines = ((path, clip.samples) for path, clip in options.readable_audio(args, failed))

    # Nothing is printed until every line is read: show progress, on a terminal only (logs stay clean).
    progress = options.StderrProgress("reading lines", unit="files") if sys.stderr.isatty() else None
    on_line = progress and (lambda done: progress(done + len(failed), len(args.audio)))
    extra: dict[str, dict] = {}
    if one_actor:
        reference, read = read_as_one_actor(model, lines, settings.window, settings.hop, settings.min_pause,
                                            on_line)
        if reference is not None:
            warn_about(reference)
        elif read:
            print("emotrack: warning: no line holds speech, so there is no actor reference: each line is read alone",
                  file=sys.stderr)
    else:
        readings = read_by_voice(model, lines, settings.window, settings.hop, settings.min_pause, on_line)
        read = [(r.name, r.probabilities) for r in readings]
        extra = {r.name: {"voice": r.group.number} for r in readings}
        groups = {r.group.number: r.group for r in readings if r.speech}
        spoken = sum(r.speech for r in readings)
        if spoken > 1:  # one line (the others unreadable or silent) is read alone: nothing to tell
            print(f"emotrack: {spoken} lines in {len(groups)} voice{'s' if len(groups) != 1 else ''}; each line "
                  "is read relative to its voice's lines (--each-alone: each line on its own)", file=sys.stderr)
        for group in groups.values():
            if group.warns:
                print(f"emotrack: warning: {group.describe()}", file=sys.stderr)
    labels, by_path = output_labels(model.labels), dict(read)
    for path in args.audio:
        if path in failed:
            print(json_line({"path": path, "error": failed[path]}), flush=True)
            continue
        print(json_line(record(path, dict(zip(labels, (float(p) for p in by_path[path]))), **extra.get(path, {}))),
              flush=True)
    return 2 if failed else 0


def record(path: str, probabilities: dict[str, float], **extra) -> dict:
    """A file's JSON record: its probabilities (6 decimals) and the most probable label."""
    return {"path": path, "probabilities": {k: round(v, 6) for k, v in probabilities.items()},
            "label": max(probabilities, key=probabilities.get), **extra}


def run(args: argparse.Namespace, rest: list[str]) -> int:
    settings = options.analysis_settings(args)
    if args.same_actor and args.actor:
        raise ParameterError("give --actor or --same-actor, not both")
    model = load_emotion_model(args.model, args.device)
    if args.same_actor:
        return run_reading_all(args, model, settings, one_actor=True)
    if len(args.audio) > 1 and not (args.each_alone or args.actor) and model.voice_space is not None:
        return run_reading_all(args, model, settings, one_actor=False)
    folders = options.FolderVoices(model, args, settings) if args.actor == options.FOLDER_ACTOR else None
    actor = None if folders else options.actor_reference(model, args)
    if actor is not None:
        model = model.with_actor(actor)
    status = 0
    for path in args.audio:
        try:
            clip = load_audio(path, channel=args.channel, raw=options.raw_format(args))
            reader = model.with_actor(folders.reference(path)) if folders else model
            line = record(path, classify_clip(clip, reader, settings))
        except EmotrackError as error:
            print(f"emotrack: error: {options.one_line(error)}", file=sys.stderr)
            line, status = {"path": path, "error": str(error)}, 2
        print(json_line(line), flush=True)
    return status
