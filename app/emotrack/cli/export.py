"""``emotrack export PROJECT --format F``: emotion curves and keyframes, and the talking
face (ARKit curves, animated mesh, vertex cache, mouth cues) for DCC tools and engines."""

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
    "arkit-csv": (".arkit.csv", "face: ARKit-52 curves in Live Link Face's CSV layout"),
    "arkit-json": (".arkit.json", "face: ARKit-52 curves in Audio2Face's JSON layout"),
    "glb": (".glb", "face: the animated mesh, glTF binary with ARKit morph targets"),
    "pc2": (".pc2", "face: a per-frame vertex cache"),
    "mouth-cues": (".mouth.tsv", "face: Rhubarb mouth shapes A-H, X (TSV; an -o ending in .json gives JSON)"),
}
FACE_FORMATS = ("arkit-csv", "arkit-json", "glb", "pc2", "mouth-cues")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export emotion curves or keyframes",
        description="Export a project's emotion curves sampled at an animation frame rate "
                    "(csv, json), its keyframes (keyframes), or the face that speaks the line with "
                    "those emotions (arkit-csv, arkit-json, glb, pc2, mouth-cues; needs the audio).",
    )
    parser.add_argument("project", metavar="PROJECT", help="an .emotrack project file")
    parser.add_argument("--format", choices=list(FORMATS), default="csv",
                        help="; ".join(f"{k}: {v[1]}" for k, v in FORMATS.items()))
    parser.add_argument("--fps", type=int, choices=FRAME_RATES, default=None,
                        help="frames per second (default: the project's fps)")
    parser.add_argument("-o", "--output", metavar="FILE", help="output file (default: beside the project)")
    parser.add_argument("--device", default="auto", help="for the face formats: auto, cpu, cuda or cuda:N")
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
    elif args.format == "keyframes":
        export_keyframes_json(project, output, fps)
    else:
        export_face(project, args.format, output, fps, args.device)
    print(f"wrote {output}", file=sys.stderr)
    return 0


def export_face(project, kind: str, output: Path, fps: int, device: str) -> None:
    """Animate the face from the project's audio and curves, then write ``kind``."""
    from ..core import face_exports, face_glb, mouth_cues
    from ..core.face_rig import load_face_rig
    from ..pipeline import animate_face, load_face_animator

    _, weights = animate_face(project, fps, load_face_animator(device=device))
    if kind == "arkit-csv":
        face_exports.export_arkit_csv(weights, fps, output)
    elif kind == "arkit-json":
        face_exports.export_arkit_json(weights, fps, output, track_path=Path(project.audio.path).stem)
    elif kind == "glb":
        face_glb.export_glb(load_face_rig(), weights, fps, output)
    elif kind == "pc2":
        face_exports.export_pc2(load_face_rig(), weights, fps, output)
    else:
        mouth_cues.export_mouth_cues(weights, fps, output, sound_file=project.audio.path)
