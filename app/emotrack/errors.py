"""Errors a user can act on. Their message is one line, shown as-is by the CLI and GUI."""


def first_line(error: BaseException, limit: int | None = 300) -> str:
    """The first line of ``error``'s message, at most ``limit`` characters ("" when it
    has none): what a one-line report can show of an exception from a library."""
    lines = str(error).strip().splitlines()
    return lines[0][:limit] if lines else ""


class EmotrackError(Exception):
    """Base class: the CLI prints ``emotrack: error: <message>`` and exits with code 2."""


class AudioError(EmotrackError):
    """The audio cannot be read or is unusable (missing, corrupt, empty, NaN ...)."""


class ParameterError(EmotrackError, ValueError):
    """A setting is outside its valid range; the message names the setting and range."""


class ProjectError(EmotrackError):
    """A project file is unreadable, invalid, or from a newer Emotrack."""


class OutputError(EmotrackError, OSError):
    """An output path is unusable (empty, a folder, under a file) or the write failed
    (not writable, disk full, name too long); the message names the path. An OSError
    too, so callers that caught the write's OSError still catch it."""


class ModelError(EmotrackError):
    """A model directory is missing, incomplete, or not a usable checkpoint."""
