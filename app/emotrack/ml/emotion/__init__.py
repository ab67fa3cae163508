"""Emotion recognition from speech: the classifier (``modeling``) and its training."""

from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel

__all__ = ["DEFAULT_HOP", "DEFAULT_WINDOW", "EmotionModel"]
