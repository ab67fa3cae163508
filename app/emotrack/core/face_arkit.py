"""The 52 ARKit blendshape names, and checks on per-frame ARKit weight arrays.

``ARKIT_NAMES`` is Apple's order (``ARFaceAnchor.BlendShapeLocation`` as documented,
which is also Unreal's ``EARFaceBlendShape`` order that Live Link streams): every
weights array in Emotrack is ``[frames, 52]`` in this order. Live Link Face's CSV
header capitalises the names and swaps two pairs (JawRight before JawLeft, MouthRight
before MouthLeft); ``LIVE_LINK_CSV_NAMES`` is that header, and writers match columns
by name, never by position.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

ARKIT_NAMES: tuple[str, ...] = (
    # left eye
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    # right eye
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    # jaw
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    # mouth
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    # brows, cheeks, nose, tongue
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
ARKIT_INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}


def _live_link_name(name: str) -> str:
    return name[0].upper() + name[1:]


def _live_link_csv_order() -> tuple[str, ...]:
    names = [_live_link_name(n) for n in ARKIT_NAMES]
    for a, b in (("JawLeft", "JawRight"), ("MouthLeft", "MouthRight")):
        i, j = names.index(a), names.index(b)
        names[i], names[j] = names[j], names[i]
    return tuple(names)


LIVE_LINK_CSV_NAMES: tuple[str, ...] = _live_link_csv_order()
"""The 52 blendshape columns of a Live Link Face CSV, in the app's header order."""

LIVE_LINK_ROTATION_NAMES: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll",
    "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)


def live_link_to_arkit(name: str) -> str:
    """``"JawOpen"`` -> ``"jawOpen"``: Live Link columns are ARKit names with a capital."""
    return name[0].lower() + name[1:]


def check_weights(weights, what: str = "weights") -> np.ndarray:
    """``weights`` as a float32 ``[frames, 52]`` array; ParameterError if it is not one.

    Values are not clipped: a network or an animator may push a shape past 1 on purpose,
    and DCC tools accept that; only NaN and infinity are refused.
    """
    array = np.asarray(weights, dtype=np.float32)
    if array.ndim != 2 or array.shape[1] != len(ARKIT_NAMES):
        raise ParameterError(f"{what} must have shape [frames, {len(ARKIT_NAMES)}], got {list(array.shape)}")
    if array.shape[0] == 0:
        raise ParameterError(f"{what} has no frames")
    if not np.isfinite(array).all():
        bad = int(np.argwhere(~np.isfinite(array))[0, 0])
        raise ParameterError(f"{what} must be finite; frame {bad} has NaN or infinity")
    return array


def check_fps(fps) -> float:
    """A finite frame rate > 0 as a float; ParameterError otherwise."""
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise ParameterError(f"fps must be a number > 0, got {fps!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ParameterError(f"fps must be a number > 0, got {fps!r}")
    return value
