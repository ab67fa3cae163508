"""``emotrack export PROJECT --format F``: emotion curves and keyframes, and the talking
face (ARKit curves, animated mesh, vertex cache, mouth cues) for DCC tools and engines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.atomic import output_path
from ..core.document import FRAME_RATES
from ..core.project_file import load_project
from ..errors import ParameterError
from ..pipeline import write_export
from .options import one_line

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
MESH_FORMATS = ("glb", "pc2")  # the formats a --character replaces the bundled face in


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
    parser.add_argument("--character", metavar="FILE",
                        help="for glb and pc2: animate your own character (.glb, .gltf, or .obj with a "
                             "folder of shape OBJs) through its blendshapes that match ARKit names")
    parser.add_argument("--character-map", metavar="MAP.json",
                        help='JSON object {"their shape name": "arkitName"} overriding the built-in name matching')
    parser.add_argument("--character-shapes", metavar="DIR",
                        help="for an .obj character: the folder of shape OBJs (default: <name>_shapes beside it)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    default = Path(args.project).with_suffix(FORMATS[args.format][0])
    # A bad -o (even '', which Path() would turn into '.') fails before the project is read.
    output_path(args.output if args.output is not None else default)
    output = Path(args.output) if args.output is not None else default
    character = load_export_character(args)  # before the project and the network: fail fast
    project = load_project(args.project)
    fps = args.fps or project.fps
    write_export(args.format, project, output, fps, mesh=character, device=args.device)
    print(f"wrote {one_line(output)}", file=sys.stderr)
    return 0


def load_export_character(args: argparse.Namespace):
    """The ``--character`` to animate (its retarget report printed), or None for the
    bundled face; ParameterError for character options that the format does not use."""
    if args.character is None:
        if args.character_map is not None or args.character_shapes is not None:
            raise ParameterError("--character-map and --character-shapes need --character FILE")
        return None
    if args.format not in MESH_FORMATS:
        raise ParameterError(f"--character drives a mesh; --format {args.format} has none "
                             f"(use {' or '.join(MESH_FORMATS)})")
    from ..core.character import load_character
    from ..core.character_names import format_report

    character = load_character(args.character, args.character_map, args.character_shapes)
    print(f"character {character.name}: " + format_report(character.report), file=sys.stderr)
    return character


def export_face(project, kind: str, output: Path, fps: int, device: str, character=None) -> None:
    """Animate the face from the project's audio and curves, then write ``kind`` (the
    glb and pc2 meshes are ``character`` when one is given, else the bundled face)."""
    write_export(kind, project, output, fps, mesh=character, device=device)
