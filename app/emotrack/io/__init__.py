"""Reading and writing audio files."""
