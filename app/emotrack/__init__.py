"""Emotrack: emotion keyframes from voice recordings, for animators."""

__version__ = "0.1.0"
