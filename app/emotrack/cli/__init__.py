"""The ``emotrack`` command line: the same pipeline the GUI runs, headless."""
