"""The set of selected keyframe ids, shared by the timeline and the inspector (view state,
not document state: selection is not undoable and is not saved)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, Signal


class Selection(QObject):
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids: frozenset[int] = frozenset()

    @property
    def ids(self) -> frozenset[int]:
        return self._ids

    def set(self, ids: Iterable[int]) -> None:
        ids = frozenset(ids)
        if ids != self._ids:
            self._ids = ids
            self.changed.emit()

    def clear(self) -> None:
        self.set(())

    def toggle(self, key_id: int) -> None:
        self.set(self._ids ^ {key_id})

    def keep_only(self, existing: Iterable[int]) -> None:
        """Drop ids of keyframes that no longer exist (after delete or undo)."""
        self.set(self._ids & frozenset(existing))
