"""``emotrack export PROJECT --format csv|json|keyframes``: curves for DCC tools and engines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.atomic import output_path
from ..core.document import FRAME_RATES
from ..core.exports import export_curves_csv, export_curves_json, export_keyframes_json
from ..core.project_file import load_project

FORMATS = {
    "csv": (".csv", "curves, one row per frame"),
    "json": (".json", "curves, one list per emotion"),
    "keyframes": (".keyframes.json", "the keyframes themselves"),
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export emotion curves or keyframes",
        description="Export a project's emotion curves sampled at an animation frame rate "
                    "(csv, json) or its keyframes (keyframes).",
    )
    parser.add_argument("project", metavar="PROJECT", help="an .emotrack project file")
    parser.add_argument("--format", choices=list(FORMATS), default="csv",
                        help="; ".join(f"{k}: {v[1]}" for k, v in FORMATS.items()))
    parser.add_argument("--fps", type=int, choices=FRAME_RATES, default=None,
                        help="frames per second (default: the project's fps)")
    parser.add_argument("-o", "--output", metavar="FILE", help="output file (default: beside the project)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    default = Path(args.project).with_suffix(FORMATS[args.format][0])
    # A bad -o (even '', which Path() would turn into '.') fails before the project is read.
    output_path(args.output if args.output is not None else default)
    output = Path(args.output) if args.output is not None else default
    project = load_project(args.project)
    fps = args.fps or project.fps
    if args.format == "csv":
        export_curves_csv(project, output, fps)
    elif args.format == "json":
        export_curves_json(project, output, fps)
    else:
        export_keyframes_json(project, output, fps)
    print(f"wrote {output}", file=sys.stderr)
    return 0
