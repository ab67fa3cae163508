"""A project as an analysis leaves it, without a model: random window probabilities over
a clip of ``seconds``, keyframes from them, and speech everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotrack.core import commands
from emotrack.core.analysis import WindowProbabilities
from emotrack.core.document import AudioInfo, Project
from emotrack.core.settings import AnalysisSettings
from emotrack.core.vad import VoiceActivity
from emotrack.core.windowing import window_starts

SR = 16_000


def analysed_project(audio: str | Path, seconds: float = 5.0, seed: int = 3, original_rate: int = 44_100,
                     **project_settings) -> Project:
    n = int(seconds * SR)
    starts = window_starts(n, 14_400, 7_200)
    probabilities = np.random.default_rng(seed).dirichlet(np.ones(6), len(starts))
    project = Project(AudioInfo(str(audio), "0" * 64, seconds, original_rate, 1), **project_settings)
    project.voice = VoiceActivity(np.ones(int(seconds * 100), bool))
    windows = WindowProbabilities(starts, 14_400, 7_200, probabilities, n, SR)
    commands.apply_analysis(project, windows, AnalysisSettings()).redo(project)
    return project
