"""The autosave of unsaved work, and its recovery after a crash.

While the open project has unsaved changes the app writes it here every minute (never
over the user's own file), with a note of the file it belongs to. A clean exit clears
the folder, so an autosave found at start-up is the work a crash left behind.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ProjectError
from .atomic import write_json_atomic
from .document import Project
from .project_file import load_project, project_to_dict

PROJECT_NAME = "recovery.emotrack"
NOTE_NAME = "recovery.json"  # {"project": the user's file the work belongs to, or null}


class RecoveryStore:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    @property
    def project_file(self) -> Path:
        return self.folder / PROJECT_NAME

    def exists(self) -> bool:
        return self.project_file.exists()

    def write(self, project: Project) -> None:
        """Autosave ``project`` (atomically: a crash mid-write keeps the previous autosave);
        :class:`OSError` or :class:`EmotrackError` when the folder is not writable."""
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.project_file, project_to_dict(project))
        write_json_atomic(self.folder / NOTE_NAME, {"project": str(project.path) if project.path else None})

    def read(self) -> Project:
        """The autosaved project, its ``path`` the user's file it belongs to (None for
        work never saved); :class:`ProjectError` when it cannot be read."""
        project = load_project(self.project_file)
        try:
            note = json.loads((self.folder / NOTE_NAME).read_text(encoding="utf-8"))
            path = note.get("project") if isinstance(note, dict) else None
        except (OSError, ValueError) as error:
            raise ProjectError(f"the autosave's note {NOTE_NAME} cannot be read: {error}") from None
        if path is not None and not isinstance(path, str):
            raise ProjectError(f"the autosave's note {NOTE_NAME} names no file")
        project.path = Path(path) if path else None
        return project

    def clear(self) -> None:
        for name in (PROJECT_NAME, NOTE_NAME):
            (self.folder / name).unlink(missing_ok=True)

