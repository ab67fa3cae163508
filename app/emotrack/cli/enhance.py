"""``emotrack enhance IN -o OUT [--model DIR]``: denoise a recording with the VQ enhancer.

The enhancer was trained on clean speech only: it maps each frame onto the nearest
clean-speech codes and decodes them, keeping the input's phase. ``--mode gain`` (the
default) only attenuates the input where the decoded clean spectrum is lower;
``--mode decoded`` outputs the decoded spectrum itself (the paper's). Output is 16 kHz
mono in the format of OUT's extension (WAV, FLAC, OGG ...).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from emotrack.core.atomic import output_path
from emotrack.errors import ParameterError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="audio file to enhance")
    parser.add_argument("-o", "--output", type=str, required=True,
                        help="enhanced audio file (never the input: the original is kept)")
    parser.add_argument("--model", type=Path, default=None,
                        help="enhancement model folder (default: the bundled model)")
    parser.add_argument("--mode", choices=("gain", "decoded"), default="gain",
                        help="gain: attenuate the input towards the decoded clean spectrum "
                             "(default); decoded: output the decoded spectrum")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("enhance", help="reduce noise in a speech recording",
                                   description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    from emotrack.io.audio import load_audio, save_audio
    from emotrack.ml.quality.enhancement import SpeechEnhancer

    check_not_the_input(args.input, output_path(args.output))
    enhancer = SpeechEnhancer.from_pretrained(args.model, device=args.device, output=args.mode)
    clip = load_audio(args.input)
    save_audio(args.output, enhancer.enhance(clip.samples), enhancer.model.config.sample_rate)
    return 0


def check_not_the_input(source: Path, target: Path) -> None:
    """Enhancing in place would destroy the only copy of the recording if the result
    disappoints (or the write fails), so the output must be another file."""
    same = os.path.realpath(source) == os.path.realpath(target)
    if not same and source.exists() and target.exists():
        same = os.path.samefile(source, target)  # hard links, bind mounts
    if same:
        raise ParameterError(f"-o {target} is the input file; choose another name so the original is kept")
