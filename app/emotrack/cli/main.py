"""``emotrack``: the command-line entry point.

``emotrack [AUDIO|PROJECT]`` opens the app; ``emotrack COMMAND ...`` runs a headless job.
User errors print one line (``emotrack: error: ...``) and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from .. import __version__
from ..errors import EmotrackError, ParameterError
from . import analyze, classify, enhance, export, quality, train

# Modules that each add one subcommand with ``register(subparsers)``.
_COMMANDS = [analyze, export, classify, quality, enhance, train]

EPILOG = """\
examples:
  emotrack                          open the app with the bundled sample clip
  emotrack line01.wav               open a recording (or a .emotrack project) in the app
  emotrack analyze line01.wav -o line01.emotrack --smoothing 3 --prior joy --prior-strength 0.3
  emotrack export line01.emotrack --format csv --fps 30 -o line01_curves.csv
  emotrack classify takes/*.wav > emotions.jsonl
  emotrack quality takes/*.wav > quality.jsonl
  emotrack enhance noisy_take.wav -o cleaned_take.wav
  emotrack COMMAND --help           options of one command
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors become one ``emotrack: error: ...`` line (exit 2) like every other
    user error, instead of argparse's usage block; subcommand parsers inherit this."""

    def error(self, message: str):
        raise ParameterError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="emotrack",
        description="Emotion keyframes from voice recordings, for animators.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"emotrack {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMANDS:
        module.register(subparsers)
    return parser


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"emotrack: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # noqa: SLF001 - argparse has no public API
    if not argv or (argv[0] not in commands and not argv[0].startswith("-")):
        return _open_app(argv)
    warnings.showwarning = _print_warning
    try:
        args, rest = parser.parse_known_args(argv)
        if rest and not getattr(args, "accepts_rest", False):
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return int(args.func(args, rest) or 0)
    except EmotrackError as error:
        print(f"emotrack: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emotrack: interrupted", file=sys.stderr)
        return 130


def _open_app(argv: list[str]) -> int:
    try:
        from ..ui.app import main as app_main
    except ImportError as error:
        print(f"emotrack: error: the app cannot start ({error}); headless commands still work, "
              "see 'emotrack --help'", file=sys.stderr)
        return 2
    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
