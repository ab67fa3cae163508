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


class CoreUndoCommand(QUndoCommand):
    def __init__(self, project: Project, command: Command) -> None:
        super().__init__(command.text)
        self.project = project
        self.command = command

    # No id()/mergeWith() overrides: PySide6 6.12 on Python 3.11 mis-counts references of
    # bools returned from Python overrides of C++ virtuals (after a few dozen merges the
    # interpreter aborts with "bool_dealloc"), so merging is done in :func:`push`.

    def redo(self) -> None:
        self.command.redo(self.project)

    def undo(self) -> None:
        self.command.undo(self.project)


def _merge_target(stack: QUndoStack, project: Project, command: Command) -> CoreUndoCommand | None:
    """The top command ``command`` may merge into, following QUndoStack's own rules: same
    merge key and fields, nothing undone on top of it, and it is not the saved state."""
    index = stack.index()
    if command.merge_key is None or index == 0 or index != stack.count():
        return None
    if stack.cleanIndex() == index:
        return None
    top = stack.command(index - 1)
    if (isinstance(top, CoreUndoCommand) and top.project is project
            and top.command.merge_key == command.merge_key
            and set(top.command.after) == set(command.after)):
        return top
    return None


def push(stack: QUndoStack, project: Project, command: Command) -> None:
    """Apply ``command`` and record it for undo; consecutive commands with the same
    ``merge_key`` (one slider drag, one keyframe drag) become one undo step."""
    top = _merge_target(stack, project, command)
    if top is None:
        stack.push(CoreUndoCommand(project, command))  # QUndoStack.push calls redo()
        return
    command.redo(project)
    top.command.merge(command)
    top.setText(command.text)
