"""Torch models (emotion, quality) with their inference and training code."""
