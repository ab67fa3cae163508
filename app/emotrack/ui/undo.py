"""``QUndoCommand`` around a core :class:`~emotrack.core.commands.Command`.

The core command holds the before/after project state; this wrapper only adapts it to
``QUndoStack`` so the Edit menu, Ctrl+Z and the history view all work. Consecutive
commands with the same ``merge_key`` (one slider drag, one keyframe drag) become one
undo step via ``Command.merge``.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand, QUndoStack

from emotrack.core.commands import Command
from emotrack.core.document import Project

_merge_ids: dict[str, int] = {}


def _merge_id(key: str | None) -> int:
    if key is None:
        return -1
    # Qt compares ids between adjacent commands only; a stable small int per key suffices.
    return _merge_ids.setdefault(key, len(_merge_ids) + 1)


class CoreUndoCommand(QUndoCommand):
    def __init__(self, project: Project, command: Command) -> None:
        super().__init__(command.text)
        self.project = project
        self.command = command

    def id(self) -> int:  # noqa: A003 - Qt's name
        return _merge_id(self.command.merge_key)

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, CoreUndoCommand) or other.project is not self.project:
            return False
        if not self.command.merge(other.command):
            return False
        self.setText(other.command.text)
        return True

    def redo(self) -> None:
        self.command.redo(self.project)

    def undo(self) -> None:
        self.command.undo(self.project)


def push(stack: QUndoStack, project: Project, command: Command) -> None:
    """Apply ``command`` (QUndoStack.push calls redo) and record it for undo."""
    stack.push(CoreUndoCommand(project, command))
