"""The animator's face controls (Audio2Face-style), with procedural blinks and saccades.

:class:`FaceControls` holds the knobs an animator turns on the network's face, with
the names and ranges Audio2Face users know (lowerFaceStrength, blinkStrength ...);
``FaceControls.SPECS`` describes each one (label, unit, range, step, help) so a panel
builds its sliders from it and holds no logic of its own. :func:`apply_face_controls`
turns network ARKit-52 weights into the controlled face, in this order:

1. Strength: the upper face and the lower face each scaled by their strength
   (ARKit's neutral is all zeros, so scaling a weight scales its distance from rest).
2. Smoothing: a Gaussian over time per group, sigma in seconds, over the frames given
   (edges repeat the nearest frame). A window around the playhead therefore smooths
   slightly differently near its own edges than the whole clip does.
3. Offsets: lip opening (on jawOpen, only where the lips are already apart, below),
   eyelid opening (eyeBlink / eyeWide), and the tongue's strength on tongueOut.
4. Procedural eyes, which captured faces lack: blinks (max with the network's
   eyeBlink) and saccades (added to the eyeLook shapes), then everything clipped to
   [0, 1].

The split of the 52 names (``UPPER_FACE`` / ``LOWER_FACE``): the upper face is what
sits above the nose, moved by the eyes and brows: eyeBlink/eyeLook*/eyeSquint/eyeWide,
browDown/browInnerUp/browOuterUp and cheekSquint (the orbicularis oculi raising the
cheek, AU6). The lower face is what speech moves: jaw*, mouth*, cheekPuff, noseSneer
(AU9 lifts the upper lip) and tongueOut.

Lip-open offset: adding to jawOpen everywhere would part the lips of every /p b m/
that the network closed. The offset is gated by how open the lips already are
(``articulation.lip_gap``): nothing at all while the gap is below ``CLOSED_GAP`` (the
lips count as touching), the full offset from twice that, linear in between. Frames
whose lips touch are left exactly as they were; a negative offset narrows open lips
and keeps mouthClose at most jawOpen so the lips never pass through each other.

Blinks and saccades are deterministic: the event schedule over [0, duration] is drawn
once per (seed, rate, duration) from ``numpy.random.default_rng`` and cached, and the
value at time t is a pure function of (t, controls, duration), so a preview of a few
frames around the playhead gets exactly the numbers of a whole-clip export.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ParameterError
from .articulation import CLOSED_GAP, lip_gap
from .face_arkit import ARKIT_INDEX, ARKIT_NAMES, check_weights

SEED_MAX = 2**31 - 1

UPPER_FACE: tuple[str, ...] = tuple(
    n for n in ARKIT_NAMES if n.startswith(("eye", "brow", "cheekSquint"))
)
LOWER_FACE: tuple[str, ...] = tuple(n for n in ARKIT_NAMES if n not in UPPER_FACE)

_I = ARKIT_INDEX
_UPPER = np.array([_I[n] for n in UPPER_FACE])
_LOWER = np.array([_I[n] for n in LOWER_FACE])
_EYE_BLINK = np.array([_I["eyeBlinkLeft"], _I["eyeBlinkRight"]])
_EYE_WIDE = np.array([_I["eyeWideLeft"], _I["eyeWideRight"]])
# Conjugate gaze: looking to the face's own left turns the left eye out and the right
# eye in (towards the nose); looking up or down moves both eyes alike.
_LOOK_LEFT = np.array([_I["eyeLookOutLeft"], _I["eyeLookInRight"]])
_LOOK_RIGHT = np.array([_I["eyeLookInLeft"], _I["eyeLookOutRight"]])
_LOOK_UP = np.array([_I["eyeLookUpLeft"], _I["eyeLookUpRight"]])
_LOOK_DOWN = np.array([_I["eyeLookDownLeft"], _I["eyeLookDownRight"]])

# Blinks: the lid closes in ~100 ms and reopens more slowly, ~150 ms; intervals are
# gamma-distributed around 60 / rate (coefficient of variation 1 / sqrt(shape) = 0.5,
# spontaneous blinking is irregular) with a short open gap so two blinks never merge.
BLINK_CLOSE_S = 0.10
BLINK_OPEN_S = 0.15
BLINK_MIN_GAP_S = 0.10
BLINK_INTERVAL_SHAPE = 4.0

# Saccades: a new gaze target every 0.5-3 s, reached in ~40 ms (a small saccade) and
# held until the next. Targets are ARKit eyeLook weights (1 = the shape's full turn):
# small conversational glances, wider sideways than up and down.
SACCADE_INTERVAL_S = (0.5, 3.0)
SACCADE_MOVE_S = 0.04
GAZE_SPREAD = (0.12, 0.06)  # standard deviation (horizontal, vertical)
GAZE_LIMIT = (0.30, 0.20)

_BLINK_STREAM, _SACCADE_STREAM = 1, 2


@dataclass(frozen=True)
class ControlSpec:
    """How to show one face control: a slider from ``low`` to ``high`` in ``step``s."""

    name: str  # the FaceControls field
    label: str
    unit: str  # "" for a plain factor
    low: float
    high: float
    default: float
    step: float
    help: str

    @property
    def integer(self) -> bool:
        """Whether the control takes whole numbers only (the seed)."""
        return isinstance(self.default, int)


@dataclass(frozen=True)
class FaceControls:
    """The animator's face controls; ``SPECS`` describes them. Frozen, like the other
    settings, so an undo command keeps before/after by reference; derive a changed copy
    with ``dataclasses.replace``. Raises :class:`ParameterError` naming a bad field."""

    lower_strength: float = 1.0
    upper_strength: float = 1.0
    lower_smoothing: float = 0.0  # Gaussian sigma, seconds
    upper_smoothing: float = 0.0
    lip_open_offset: float = 0.0
    eyelid_open_offset: float = 0.0
    blink_strength: float = 1.0
    blink_rate: float = 15.0  # blinks per minute
    saccade_strength: float = 1.0
    tongue_strength: float = 1.0
    seed: int = 0

    SPECS: ClassVar[tuple[ControlSpec, ...]]  # set below the class, from its defaults

    def __post_init__(self) -> None:
        for spec in self.SPECS:
            value = getattr(self, spec.name)
            if spec.integer:
                object.__setattr__(self, spec.name, _checked_whole(spec, value))
            else:
                # Store plain floats (not ints or numpy scalars) so saved files and
                # cache keys look the same however the value was given.
                object.__setattr__(self, spec.name, _checked_number(spec, value))


def _range_text(spec: ControlSpec) -> str:
    unit = f" {spec.unit}" if spec.unit else ""
    return f"between {_number_text(spec.low)} and {_number_text(spec.high)}{unit}"


def _number_text(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _checked_number(spec: ControlSpec, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{spec.name} must be a number {_range_text(spec)}, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not spec.low <= number <= spec.high:
        raise ParameterError(f"{spec.name} must be {_range_text(spec)}, got {number:g}")
    return number


def _checked_whole(spec: ControlSpec, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{spec.name} must be a whole number {_range_text(spec)}, got {value!r}")
    if not spec.low <= value <= spec.high:
        raise ParameterError(f"{spec.name} must be {_range_text(spec)}, got {value}")
    return int(value)


def _specs() -> tuple[ControlSpec, ...]:
    defaults = {f.name: f.default for f in fields(FaceControls)}

    def spec(name, label, unit, low, high, step, help_text) -> ControlSpec:
        return ControlSpec(name, label, unit, low, high, defaults[name], step, help_text)

    return (
        spec("lower_strength", "Lower face strength", "", 0.0, 2.0, 0.01,
             "Scales the jaw, mouth, cheek puff, nose and tongue motion."),
        spec("upper_strength", "Upper face strength", "", 0.0, 2.0, 0.01,
             "Scales the network's brow, eyelid, eye and cheek-raise motion."),
        spec("lower_smoothing", "Lower face smoothing", "s", 0.0, 0.1, 0.001,
             "Gaussian smoothing of the lower face over time (sigma); steadies jittery lips."),
        spec("upper_smoothing", "Upper face smoothing", "s", 0.0, 0.1, 0.001,
             "Gaussian smoothing of the upper face over time (sigma)."),
        spec("lip_open_offset", "Lip open offset", "", -0.2, 0.2, 0.005,
             "Opens (+) or narrows (-) the jaw where the lips are already apart; closed lips stay closed."),
        spec("eyelid_open_offset", "Eyelid open offset", "", -1.0, 1.0, 0.01,
             "Opens (+) or lowers (-) the eyelids at rest."),
        spec("blink_strength", "Blink strength", "", 0.0, 2.0, 0.01,
             "How far procedural blinks close the eyes; 0 turns them off."),
        spec("blink_rate", "Blink rate", "per min", 0.0, 60.0, 0.5,
             "Average procedural blinks per minute; the intervals vary naturally."),
        spec("saccade_strength", "Saccade strength", "", 0.0, 2.0, 0.01,
             "Size of the procedural eye darts between gaze targets; 0 turns them off."),
        spec("tongue_strength", "Tongue strength", "", 0.0, 3.0, 0.01,
             "Scales tongueOut."),
        spec("seed", "Random seed", "", 0, SEED_MAX, 1,
             "Picks another, equally natural, pattern of blinks and saccades."),
    )


FaceControls.SPECS = _specs()


def face_controls_to_dict(controls: FaceControls) -> dict[str, Any]:
    return asdict(controls)


def face_controls_from_dict(data: dict[str, Any]) -> FaceControls:
    """Controls from a dict; missing keys take their defaults, unknown keys are named."""
    unknown = sorted(set(data) - {spec.name for spec in FaceControls.SPECS})
    if unknown:
        known = ", ".join(spec.name for spec in FaceControls.SPECS)
        # Keys come from a file and can be any text: each is cut short, three at most.
        names = [k if len(k) <= 40 else k[:37] + "..." for k in map(str, unknown[:3])]
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        raise ParameterError(f"{', '.join(names)}{more}: not a face control (known: {known})")
    return FaceControls(**data)


# --- applying them ------------------------------------------------------------------
def apply_face_controls(weights, times, controls: FaceControls, duration: float) -> np.ndarray:
    """The controlled face: new float32 ``[F, 52]`` ARKit weights clipped to [0, 1].

    ``weights``: the network's ``[F, 52]`` (``ARKIT_NAMES`` order) at ``times`` ([F]
    increasing seconds: the whole clip or any stretch of it); ``duration``: the clip's
    length, which with the seed fixes the blinks and saccades (module docstring).
    """
    face = check_weights(weights).copy()
    times = np.asarray(times, dtype=np.float64)
    if times.shape != (len(face),):
        raise ParameterError(f"times must have one value per frame ({len(face)}), got shape {list(times.shape)}")
    face[:, _UPPER] *= controls.upper_strength
    face[:, _LOWER] *= controls.lower_strength
    _smooth_group(face, _UPPER, times, controls.upper_smoothing)
    _smooth_group(face, _LOWER, times, controls.lower_smoothing)
    _offset_lip_opening(face, controls.lip_open_offset)
    _offset_eyelids(face, controls.eyelid_open_offset)
    face[:, _I["tongueOut"]] *= controls.tongue_strength
    if controls.blink_strength > 0:
        _add_blinks(face, blink_closure(times, controls, duration))
    if controls.saccade_strength > 0:
        _add_gaze(face, controls.saccade_strength * gaze_at(times, controls.seed, duration))
    return np.clip(face, 0.0, 1.0, out=face)


def _smooth_group(face: np.ndarray, columns: np.ndarray, times: np.ndarray, sigma_s: float) -> None:
    if sigma_s <= 0 or len(times) < 2:
        return
    frame_s = float(np.median(np.diff(times)))
    if frame_s <= 0:
        raise ParameterError("times must increase to smooth the face over them")
    face[:, columns] = gaussian_smooth(face[:, columns], sigma_s / frame_s)


def gaussian_smooth(columns: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Each column of ``[F, C]`` smoothed by a Gaussian of ``sigma_frames``, the first and
    last frame repeated beyond the edges (so a held pose stays held)."""
    radius = max(1, math.ceil(4 * sigma_frames))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma_frames) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(columns, ((radius, radius), (0, 0)), mode="edge")
    return (sliding_window_view(padded, len(kernel), axis=0) @ kernel).astype(columns.dtype)


def _offset_lip_opening(face: np.ndarray, offset: float) -> None:
    if offset == 0:
        return
    openness = np.clip((lip_gap(face) - CLOSED_GAP) / CLOSED_GAP, 0.0, 1.0)
    jaw = face[:, _I["jawOpen"]]
    jaw += offset * openness
    np.maximum(jaw, 0.0, out=jaw)
    if offset < 0:
        close = face[:, _I["mouthClose"]]
        np.minimum(close, jaw, out=close)


def _offset_eyelids(face: np.ndarray, offset: float) -> None:
    """Opening the lids first undoes a partial blink, then widens the eyes; lowering
    them first undoes a widening, then closes them. Identity at 0, continuous."""
    if offset == 0:
        return
    undone, added = (_EYE_BLINK, _EYE_WIDE) if offset > 0 else (_EYE_WIDE, _EYE_BLINK)
    amount = abs(offset)
    taken = np.minimum(face[:, undone], amount)
    face[:, undone] -= taken
    face[:, added] += amount - taken


def _add_blinks(face: np.ndarray, closure: np.ndarray) -> None:
    """A blink shuts the lids over whatever the network did; a widened eye is
    un-widened as it closes, or the blink would stop half way on the rig."""
    blink = np.minimum(closure, 1.0)[:, None]
    face[:, _EYE_BLINK] = np.maximum(face[:, _EYE_BLINK], blink)
    face[:, _EYE_WIDE] *= 1.0 - blink


def _add_gaze(face: np.ndarray, gaze: np.ndarray) -> None:
    horizontal, vertical = gaze[:, 0:1], gaze[:, 1:2]
    face[:, _LOOK_LEFT] += np.maximum(horizontal, 0.0)
    face[:, _LOOK_RIGHT] += np.maximum(-horizontal, 0.0)
    face[:, _LOOK_UP] += np.maximum(vertical, 0.0)
    face[:, _LOOK_DOWN] += np.maximum(-vertical, 0.0)


# --- procedural eyes -----------------------------------------------------------------
def _ease(x: np.ndarray) -> np.ndarray:
    """Smoothstep on [0, 1]: starts and ends at rest, as lids and eyes do."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False  # shared by every caller through the cache
    return array


@lru_cache(maxsize=64)
def blink_onsets(seed: int, rate: float, duration: float) -> np.ndarray:
    """Times (s) at which blinks start in [0, duration), for ``rate`` blinks a minute.

    Drawn one after the other from their own random stream, so a longer clip keeps
    the blinks of a shorter one and the saccades do not move when the rate does.
    """
    if rate <= 0 or duration <= 0:
        return _read_only(np.zeros(0))
    rng = np.random.default_rng((seed, _BLINK_STREAM))
    mean_interval = 60.0 / rate
    shortest = BLINK_CLOSE_S + BLINK_OPEN_S + BLINK_MIN_GAP_S
    onsets = []
    time = rng.uniform(0.0, mean_interval)  # a clip need not open on a blink
    while time < duration:
        onsets.append(time)
        interval = rng.gamma(BLINK_INTERVAL_SHAPE, mean_interval / BLINK_INTERVAL_SHAPE)
        time += max(interval, shortest)
    return _read_only(np.array(onsets))


def blink_closure(times, controls: FaceControls, duration: float) -> np.ndarray:
    """``[F]`` procedural lid closure at ``times`` (0 open .. 1 shut, times the blink
    strength, so above 1 for strengths over 1)."""
    times = np.asarray(times, dtype=np.float64)
    onsets = blink_onsets(controls.seed, controls.blink_rate, float(duration))
    if len(onsets) == 0:
        return np.zeros(len(times))
    # Blinks never overlap, so only the latest one started matters at each time.
    # Before the first blink "since" is infinite, which the opening ramp takes to 0.
    latest = np.searchsorted(onsets, times, side="right") - 1
    since = np.where(latest >= 0, times - onsets[np.maximum(latest, 0)], np.inf)
    closing = _ease(since / BLINK_CLOSE_S)
    opening = 1.0 - _ease((since - BLINK_CLOSE_S) / BLINK_OPEN_S)
    return controls.blink_strength * np.where(since < BLINK_CLOSE_S, closing, opening)


@lru_cache(maxsize=64)
def saccades(seed: int, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """(onsets [K], targets [K + 1, 2]): saccade k starts at ``onsets[k]`` and moves the
    gaze (horizontal: + towards the face's left; vertical: + up) from ``targets[k]``
    to ``targets[k + 1]``; ``targets[0]`` is straight ahead."""
    if duration <= 0:
        return _read_only(np.zeros(0)), _read_only(np.zeros((1, 2)))
    rng = np.random.default_rng((seed, _SACCADE_STREAM))
    onsets, targets = [], [np.zeros(2)]
    time = rng.uniform(*SACCADE_INTERVAL_S)
    while time < duration:
        onsets.append(time)
        targets.append(np.clip(rng.normal(0.0, GAZE_SPREAD), np.negative(GAZE_LIMIT), GAZE_LIMIT))
        time += rng.uniform(*SACCADE_INTERVAL_S)
    return _read_only(np.array(onsets)), _read_only(np.array(targets))


def gaze_at(times, seed: int, duration: float) -> np.ndarray:
    """``[F, 2]`` procedural gaze (horizontal, vertical) at ``times``, at strength 1."""
    times = np.asarray(times, dtype=np.float64)
    onsets, targets = saccades(seed, float(duration))
    if len(onsets) == 0:
        return np.broadcast_to(targets[0], (len(times), 2)).copy()
    started = np.searchsorted(onsets, times, side="right")  # saccades begun by each time
    latest = np.maximum(started - 1, 0)
    progress = np.where(started > 0, _ease((times - onsets[latest]) / SACCADE_MOVE_S), 0.0)[:, None]
    # Before the first saccade origin and goal are both targets[0]: straight ahead.
    origin, goal = targets[latest], targets[started]
    return origin + (goal - origin) * progress
