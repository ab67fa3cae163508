"""``emotrack analyze AUDIO -o PROJECT.emotrack``: infer emotion keyframes for one recording."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.atomic import output_path
from ..core.project_file import SUFFIX, save_project
from ..pipeline import analyze_file, load_emotion_model, load_quality_estimator
from . import options


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "analyze", aliases=["analyse"], help="infer emotion keyframes and save a project",
        description="Infer emotion keyframes for AUDIO and save them as an Emotrack project.",
    )
    parser.add_argument("audio", metavar="AUDIO", help="any audio file (WAV, FLAC, MP3, M4A, OGG, ...)")
    parser.add_argument("-o", "--output", metavar="PROJECT",
                        help=f"project file to write (default: AUDIO with {SUFFIX})")
    parser.add_argument("--fps", type=int, default=30, choices=(24, 25, 30, 50, 60),
                        help="the project's animation frame rate (default 30)")
    options.add_quality_flag_options(parser, "mark keyframes over bad audio as low-confidence")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    options.add_audio_options(parser)
    options.add_model_options(parser)
    options.add_actor_option(parser)
    options.add_analysis_options(parser)
    options.add_heuristic_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    analysis = options.analysis_settings(args)
    heuristics = options.heuristic_settings(args)
    # A bad -o (even '', which Path() would turn into '.') fails now, not after the analysis.
    output_path(args.output if args.output is not None else Path(args.audio).with_suffix(SUFFIX))
    output = Path(args.output) if args.output is not None else Path(args.audio).with_suffix(SUFFIX)
    model = load_emotion_model(args.model, args.device)
    if args.actor == options.FOLDER_ACTOR:
        actor = options.FolderVoices(model, args, analysis).reference(args.audio)
    else:
        actor = options.actor_reference(model, args)
    estimator = load_quality_estimator(device=args.device) if args.quality else None
    progress = None if args.quiet else options.StderrProgress(f"analysing {Path(args.audio).name}")
    project = analyze_file(args.audio, model, analysis, heuristics, channel=args.channel,
                           raw=options.raw_format(args), progress=progress, model_dir=args.model,
                           quality=estimator, quality_threshold=args.quality_threshold, actor=actor)
    project.fps = args.fps
    save_project(project, output)
    if not args.quiet:
        flagged = sum(k.low_confidence for k in project.keyframes)
        note = f", {flagged} over flagged audio" if project.quality is not None else ""
        print(f"wrote {options.one_line(output)} ({len(project.keyframes)} keyframes{note}, {project.duration:.1f} s)",
              file=sys.stderr)
    return 0
