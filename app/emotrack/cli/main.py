"""``emotrack``: the command-line entry point.

``emotrack [AUDIO|PROJECT]`` opens the app; ``emotrack COMMAND ...`` runs a headless job.
Nothing reaches the user as a traceback. Exit codes:

- 0: success;
- 1: ``emotrack batch`` finished, but some lines failed (how many is on stderr);
- 2: a user error (bad input, bad option, unknown command, no display for the app),
  printed as one line ``emotrack: error: ...``;
- 3: an internal error (a bug): one line naming the exception and a log file holding
  the traceback; ``--debug`` (anywhere before ``--``) prints the traceback instead;
- 130: interrupted (Ctrl+C).

Crash logs go to ``$EMOTRACK_LOG_DIR`` if set, else ``$XDG_STATE_HOME/emotrack/logs``
(``~/.local/state/emotrack/logs``), else the temp folder; the newest
:data:`KEPT_LOGS` are kept.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..errors import EmotrackError, ParameterError, first_line
from . import actor, analyze, batch, classify, enhance, export, quality, train
from .options import one_line

# Modules that each add one subcommand with ``register(subparsers)``.
_COMMANDS = [analyze, export, batch, classify, actor, quality, enhance, train]

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130
KEPT_LOGS = 20

# Qt platforms that need no window system (everything else needs X11 or Wayland).
_HEADLESS_QT_PLATFORMS = {"offscreen", "minimal", "minimalegl", "eglfs", "linuxfb", "vnc", "vkkhrdisplay"}

EPILOG = """\
examples:
  emotrack                          open the app with the bundled sample clip
  emotrack line01.wav               open a recording (or a .emotrack project) in the app
  emotrack analyze line01.wav -o line01.emotrack --smoothing 3 --prior joy --prior-strength 0.3
  emotrack export line01.emotrack --format csv --fps 30 -o line01_curves.csv
  emotrack classify takes/*.wav > emotions.jsonl
  emotrack classify --same-actor session/*.wav      read each line relative to the actor's voice
  emotrack actor-reference session/*.wav -o anna.json; emotrack analyze line01.wav --actor anna.json
  emotrack quality takes/*.wav > quality.jsonl
  emotrack enhance noisy_take.wav -o cleaned_take.wav
  emotrack batch dialogue/ -o out/ --export csv,arkit-csv --workers 2   (add --ray auto for a Ray cluster)
  emotrack COMMAND --help           options of one command

--debug (with any command) shows the traceback of an internal error.
exit codes: 0 success, 1 some batch lines failed, 2 user error, 3 internal error (see the log file named), 130 interrupted
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
    print(f"emotrack: warning: {one_line(message)}", file=sys.stderr)


def _error(message: str) -> None:
    print(f"emotrack: error: {one_line(message)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv, debug = _pop_debug(list(sys.argv[1:] if argv is None else argv))
    try:
        return _dispatch(argv)
    except EmotrackError as error:
        _error(str(error))
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("emotrack: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last line of defence: a bug, never a traceback
        if debug:
            traceback.print_exc()
        else:
            _error(_internal_error_line(error, _write_crash_log(argv)))
        return EXIT_INTERNAL_ERROR


def _pop_debug(argv: list[str]) -> tuple[list[str], bool]:
    """``--debug`` may go anywhere before a ``--`` (after it, arguments belong to the command)."""
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end] or os.environ.get("EMOTRACK_DEBUG", "") not in ("", "0")
    return [a for i, a in enumerate(argv) if not (i < end and a == "--debug")], debug


def _dispatch(argv: list[str]) -> int:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse has no public API
    if not argv:
        return _open_app(argv)
    first = argv[0]
    if first not in commands and not first.startswith("-"):
        if os.path.lexists(first):
            return _open_app(argv)
        raise ParameterError(_unknown_command_message(first, list(commands)))
    warnings.showwarning = _print_warning
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "accepts_rest", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return int(args.func(args, rest) or 0)


def _unknown_command_message(word: str, commands: list[str]) -> str:
    """A word that is neither a file nor a command: a typo of a command is the likely
    case; a path-like word is a missing file (the app would only say so in a dialog)."""
    if os.sep in word or "." in word:
        return f"no such file: {word} (and not a command; see 'emotrack --help')"
    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.6)
    if close:
        return f"unknown command '{word}' (did you mean '{close[0]}'?)"
    return f"unknown command '{word}' (commands: {', '.join(sorted(commands))}; see 'emotrack --help')"


def _internal_error_line(error: BaseException, log: Path | None) -> str:
    first = first_line(error, 200)
    what = f"{type(error).__name__}: {first}" if first else type(error).__name__
    where = f"details in {log}" if log else "run again with --debug for details"
    return f"internal error ({what}); {where}"


def crash_log_dir() -> Path:
    if os.environ.get("EMOTRACK_LOG_DIR"):
        return Path(os.environ["EMOTRACK_LOG_DIR"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "emotrack" / "logs"


def _write_crash_log(argv: list[str]) -> Path | None:
    """The current exception's traceback in a new log file; None if no folder is writable
    (the guard must not fail itself)."""
    import tempfile

    text = (f"emotrack {__version__}, python {sys.version.split()[0]}, {sys.platform}\n"
            f"argv: {argv!r}\n\n{traceback.format_exc()}")
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (crash_log_dir(), Path(tempfile.gettempdir()) / "emotrack-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
        except OSError:
            continue
        _prune_logs(folder)
        return folder / name
    return None


def _prune_logs(folder: Path) -> None:
    try:
        logs = sorted(folder.glob("crash-*.log"), key=lambda p: p.stat().st_mtime)
        for old in logs[:-KEPT_LOGS]:
            old.unlink()
    except OSError:
        pass


def display_problem(environ=os.environ, platform: str = sys.platform) -> str | None:
    """Why Qt could not open a window here, or None. Qt itself aborts the process with a
    plugin message, so this is checked before the QApplication exists."""
    if not platform.startswith("linux"):
        return None  # Windows and macOS always have their window system
    qpa = environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if qpa in _HEADLESS_QT_PLATFORMS:
        return None
    if qpa.startswith("wayland"):
        return None if environ.get("WAYLAND_DISPLAY") else "QT_QPA_PLATFORM is wayland but WAYLAND_DISPLAY is unset"
    if qpa == "xcb":
        return None if environ.get("DISPLAY") else "QT_QPA_PLATFORM is xcb but DISPLAY is unset"
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return "no display (DISPLAY and WAYLAND_DISPLAY are unset)"


def _open_app(argv: list[str]) -> int:
    problem = display_problem()
    if problem:
        raise ParameterError(f"the app cannot start: {problem}; headless commands still work, "
                             "see 'emotrack --help'")
    try:
        from ..ui.app import main as app_main
    except ImportError as error:
        _error(f"the app cannot start ({error}); headless commands still work, see 'emotrack --help'")
        return EXIT_USER_ERROR
    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
