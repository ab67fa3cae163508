"""RAVDESS file names: which statement a clip says, and its emotion and intensity.

Names are modality-channel-emotion-intensity-statement-repetition-actor, e.g.
``03-01-05-02-01-01-12.flac``; two statements only, so the transcript is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import ParameterError

STATEMENTS: dict[str, str] = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
EMOTION_CODES: dict[str, str] = {"01": "neutral", "02": "neutral", "03": "joy", "04": "sadness",
                                 "05": "anger", "06": "fear", "07": "disgust", "08": "surprise"}


@dataclass(frozen=True)
class RavdessName:
    emotion: str  # the app's vocabulary (calm -> neutral)
    strong: bool  # intensity 02
    statement: str  # the transcript
    actor: int


def parse_ravdess_name(path: str | Path) -> RavdessName:
    """The fields of a RAVDESS file name; ParameterError if it is not one."""
    fields = Path(path).stem.split("-")
    if len(fields) != 7 or fields[4] not in STATEMENTS or fields[2] not in EMOTION_CODES:
        raise ParameterError(f"not a RAVDESS speech file name: {Path(path).name}")
    return RavdessName(EMOTION_CODES[fields[2]], fields[3] == "02", STATEMENTS[fields[4]], int(fields[6]))
