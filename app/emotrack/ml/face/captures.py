"""A studio's own face captures as training targets: Live Link Face CSV + audio.

A take is a Live Link Face CSV (``Timecode``, ``BlendShapeCount``, the 52 ARKit
curves with capitalised names, then head/eye rotations; the layout our ``arkit-csv``
export writes) and an audio file of the same stem beside it (``take.csv`` +
``take.wav``/``.flac``/...). The curves become the network's targets directly: the
first row's timecode is taken as the audio's start, and the curves are resampled
linearly to the encoder's 50 frames/s.

Live Link timecodes are ``HH:MM:SS:FF.fff``: frames ``FF`` count at the take's nominal
rate, which the file does not state; it is read off the frame numbers (their largest
value + 1 once the take crosses a second) unless given.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.face_arkit import ARKIT_NAMES, live_link_to_arkit
from ...errors import ParameterError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
# A take and its audio may differ by the recorder's start/stop latency, not by more.
MAX_LENGTH_MISMATCH_S = 0.5
_TIMECODE = re.compile(r"^(\d+):(\d\d):(\d\d):(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True)
class LiveLinkTake:
    """Curves of one take: ``weights [rows, 52]`` (ARKit order) at ``seconds [rows]`` from its start."""

    seconds: np.ndarray
    weights: np.ndarray

    @property
    def duration(self) -> float:
        return float(self.seconds[-1]) if len(self.seconds) else 0.0


def _timecode_fields(text: str, path: Path, row: int) -> tuple[int, float]:
    """(whole seconds, frames with their fraction) of a ``HH:MM:SS:FF.fff`` timecode."""
    match = _TIMECODE.match(text.strip())
    if not match:
        raise ParameterError(f"{path.name} row {row}: timecode {text!r} is not HH:MM:SS:FF[.fff]")
    hours, minutes, seconds, frame = (int(g) for g in match.groups()[:4])
    fraction = float("0." + match.group(5)) if match.group(5) else 0.0
    return hours * 3600 + minutes * 60 + seconds, frame + fraction


def nominal_fps(frame_numbers: np.ndarray, whole_seconds: np.ndarray) -> int:
    """The timecode's frame rate: the largest frame number + 1, known once a second rolls over."""
    if whole_seconds.max() == whole_seconds.min():
        raise ParameterError("the take is shorter than a second's rollover of its timecode; give its fps")
    return int(frame_numbers.max()) + 1


def read_live_link_csv(path: str | Path, fps: float | None = None) -> LiveLinkTake:
    """The 52 curves and their times of a Live Link Face CSV; ParameterError if a curve
    column is missing, a value is not a number, or the timecodes do not advance."""
    path = Path(path)
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or "Timecode" not in rows[0]:
        raise ParameterError(f"{path.name}: no Timecode column (not a Live Link Face CSV)")
    header = [name.strip() for name in rows[0]]
    by_arkit = {live_link_to_arkit(name): i for i, name in enumerate(header) if name}
    missing = [name for name in ARKIT_NAMES if name not in by_arkit]
    if missing:
        raise ParameterError(f"{path.name}: missing ARKit curve columns {missing[:5]}"
                             f"{' and more' if len(missing) > 5 else ''}")
    body = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    if len(body) < 2:
        raise ParameterError(f"{path.name}: fewer than two frames")
    time_column = header.index("Timecode")
    columns = [by_arkit[name] for name in ARKIT_NAMES]
    whole = np.zeros(len(body))
    frames = np.zeros(len(body))
    weights = np.zeros((len(body), len(ARKIT_NAMES)), np.float32)
    for i, row in enumerate(body):
        if len(row) < len(header):
            raise ParameterError(f"{path.name} row {i + 2}: {len(row)} columns, the header has {len(header)}")
        whole[i], frames[i] = _timecode_fields(row[time_column], path, i + 2)
        try:
            weights[i] = [float(row[c]) for c in columns]
        except ValueError:
            raise ParameterError(f"{path.name} row {i + 2}: a curve value is not a number") from None
    if not np.isfinite(weights).all():
        raise ParameterError(f"{path.name}: curve values must be finite")
    rate = float(fps) if fps else nominal_fps(np.floor(frames), whole)
    seconds = whole + frames / rate
    seconds = seconds - seconds[0]  # the first row is the audio's start
    if np.any(np.diff(seconds) <= 0):
        raise ParameterError(f"{path.name}: timecodes do not advance row by row (is the fps {rate:g} right?)")
    return LiveLinkTake(seconds, np.clip(weights, 0.0, 1.0))


def resampled_targets(take: LiveLinkTake, frames: int, rate: float) -> np.ndarray:
    """The take's curves at ``frames`` times ``i / rate`` (linear; the ends held)."""
    times = np.arange(frames) / rate
    return np.stack([np.interp(times, take.seconds, take.weights[:, k]) for k in range(take.weights.shape[1])],
                    axis=1).astype(np.float32)


def audio_for(csv_path: Path) -> Path:
    """The take's audio: the file of the same stem with an audio suffix."""
    for suffix in AUDIO_SUFFIXES:
        candidate = csv_path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    raise ParameterError(f"no audio for capture {csv_path.name}: expected {csv_path.stem} with one of "
                         f"{', '.join(AUDIO_SUFFIXES)} beside it")


def capture_files(folder: str | Path) -> list[tuple[Path, Path]]:
    """``(csv, audio)`` pairs of every take in ``folder``; ParameterError if none or one lacks audio."""
    root = Path(folder)
    if not root.is_dir():
        raise ParameterError(f"captures folder {root} does not exist")
    takes = sorted(root.glob("*.csv"))
    if not takes:
        raise ParameterError(f"no Live Link Face CSV takes (*.csv) in {root}")
    return [(take, audio_for(take)) for take in takes]


def check_lengths(take: LiveLinkTake, audio_seconds: float, name: str) -> None:
    if abs(take.duration - audio_seconds) > MAX_LENGTH_MISMATCH_S:
        raise ParameterError(f"capture {name} lasts {take.duration:.2f} s but its audio {audio_seconds:.2f} s "
                             f"(more than {MAX_LENGTH_MISMATCH_S:g} s apart: not the same take?)")

