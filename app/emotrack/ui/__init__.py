"""The Qt layer (napari ``_qt``-style): widgets observe the core's evented ``Project`` and
change it only through undoable core commands. Nothing here holds business logic."""
