"""Articulation targets: timed phones (+ an emotion track) -> ARKit-52 weights per frame.

These are the teacher the face network learns from, so they are built to be right by
construction where animators look first: the lips meet on every /p b m/.

Steps (tables in :mod:`.visemes` and :mod:`.face_expression`):

1. Phones -> visemes (diphthongs split in two halves).
2. Coarticulation by dominance functions (Cohen & Massaro 1993): every mouth shape at
   frame time t is the dominance-weighted mean of the visemes' targets,
   ``w(t) = sum_k D_k(t) T_k / (sum_k D_k(t) + REST_DOMINANCE)``, with
   ``D_k(t) = alpha_k * exp(-theta_k * d_k(t))``. ``d_k`` is the distance from t to the
   segment (0 inside it) rather than to its centre, so long vowels and long pauses hold
   their shape instead of being pulled towards neighbours half a second away; the
   weak ``REST_DOMINANCE`` brings the mouth to rest far from any phone.
3. Emotion-dependent articulation: jawOpen and mouthClose times the frame's jaw gain,
   the other mouth shapes times its lips gain.
4. Plus the EMFACS expression of the frame's emotion vector; clipped to [0, 1].
5. Bilabial closure, last so that no expression can open a /m/: a closure envelope
   (1 over the middle of every P B M, at least one frame wide, raised-cosine ramps of
   ``CLOSURE_RAMP_S`` either side) pulls the jaw down to at most ``CLOSURE_JAW``,
   removes the lip-opening shapes (mouthUpperUp, mouthLowerDown, mouthFunnel), presses
   the lips (mouthPress >= ``CLOSURE_PRESS``) and sets mouthClose = jawOpen, so the lip
   gap is exactly 0 where the envelope is 1. A sneer (disgust's AU9, noseSneer) also
   lifts the upper lip (3 mm at full weight on the ICT rig): it is halved, and the lower
   lip follows it up (mouthShrugLower, AU17, >= the remaining sneer), so a disgusted /m/
   still closes without the sneer flickering off at every bilabial.

``lip_gap`` is the proxy of lip opening used in checks: ``jawOpen - mouthClose`` (ARKit's
mouthClose shuts the lips over an open jaw) plus the lip-opening shapes and half the
sneer, minus the lower lip's shrug. On the ICT rig (benchmarks/face_targets.py measures
the lips' vertices) the opening shapes and the sneer move the lips ~3 mm per unit,
jawOpen 33 mm and mouthShrugLower -7 mm, so the proxy overstates small openings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ParameterError
from .face_arkit import ARKIT_INDEX, ARKIT_NAMES, check_fps
from .face_expression import articulation_gains, emotion_matrix, expression_weights
from .phonemes import BILABIALS, PhoneSegment
from .visemes import (JAW_SHAPES, MOUTH_SHAPES, VISEME_TARGETS, dominance_alpha, dominance_theta,
                      visemes_of)

REST_DOMINANCE = 1e-3
CLOSURE_RAMP_S = 0.05
CLOSURE_CORE_SHARE = 0.6  # the middle share of a bilabial held fully shut
CLOSURE_JAW = 0.12
CLOSURE_PRESS = 0.4
CLOSED_GAP = 0.05  # lip_gap below this counts as lips touching

_I = ARKIT_INDEX
_OPENERS = [_I[n] for n in ("mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft",
                            "mouthLowerDownRight", "mouthFunnel")]
_PRESS = [_I["mouthPressLeft"], _I["mouthPressRight"]]
_SNEER = [_I["noseSneerLeft"], _I["noseSneerRight"]]
_JAW = [_I[n] for n in JAW_SHAPES]
_LIPS = [_I[n] for n in MOUTH_SHAPES if n not in JAW_SHAPES and n != "tongueOut"]
_MOUTH_MASK = np.isin(np.arange(len(ARKIT_NAMES)), [_I[n] for n in MOUTH_SHAPES])


def frame_times(duration: float, fps: float) -> np.ndarray:
    """Times (s) of the frames covering ``duration``: ``round(duration * fps)`` frames at i/fps."""
    fps = check_fps(fps)
    if not (duration > 0 and np.isfinite(duration)):
        raise ParameterError(f"duration must be a positive number of seconds, got {duration}")
    return np.arange(max(1, round(duration * fps))) / fps


def _viseme_spans(segments: Sequence[PhoneSegment]) -> list[tuple[str, float, float]]:
    spans = []
    for seg in segments:
        parts = visemes_of(seg.phone)
        step = seg.duration / len(parts)
        spans.extend((v, seg.start + i * step, seg.start + (i + 1) * step) for i, v in enumerate(parts))
    return spans


def coarticulate(segments: Sequence[PhoneSegment], times: np.ndarray) -> np.ndarray:
    """``[frames, 52]`` mouth weights by dominance blending (step 2); other shapes are 0."""
    spans = _viseme_spans(segments)
    weights = np.zeros((len(times), len(ARKIT_NAMES)), np.float32)
    if not spans:
        return weights
    starts = np.array([s for _, s, _ in spans])
    ends = np.array([e for _, _, e in spans])
    theta = np.array([dominance_theta(v) for v, _, _ in spans])
    alpha = np.stack([dominance_alpha(v) for v, _, _ in spans])  # [K, 52]
    targets = np.stack([VISEME_TARGETS[v] for v, _, _ in spans])  # [K, 52]
    distance = np.maximum(starts[None] - times[:, None], 0) + np.maximum(times[:, None] - ends[None], 0)
    falloff = np.exp(-theta[None] * distance)  # [F, K]
    numerator = falloff @ (alpha * targets)
    denominator = falloff @ alpha + REST_DOMINANCE
    weights[:, _MOUTH_MASK] = (numerator / denominator)[:, _MOUTH_MASK]
    return weights


def closure_envelope(segments: Sequence[PhoneSegment], times: np.ndarray, fps: float) -> np.ndarray:
    """``[frames]`` in [0, 1]: 1 where a bilabial must be shut (step 5), ramps around it."""
    envelope = np.zeros(len(times))
    for seg in segments:
        if seg.phone not in BILABIALS:
            continue
        # At least one frame period wide, so every bilabial owns a fully shut frame.
        half = max(0.5 * CLOSURE_CORE_SHARE * seg.duration, 0.5 / fps + 1e-6)
        outside = np.maximum(np.abs(times - seg.centre) - half, 0.0)
        bump = np.where(outside < CLOSURE_RAMP_S, 0.5 + 0.5 * np.cos(np.pi * outside / CLOSURE_RAMP_S), 0.0)
        envelope = np.maximum(envelope, bump)
    return envelope


def apply_closure(weights: np.ndarray, envelope: np.ndarray) -> np.ndarray:
    """Shut the lips where ``envelope`` is 1, blending by it elsewhere (step 5); in place."""
    c = envelope.astype(np.float32)
    jaw = weights[:, _I["jawOpen"]]
    jaw -= c * np.maximum(jaw - CLOSURE_JAW, 0.0)
    weights[:, _OPENERS] *= (1.0 - c)[:, None]
    press = weights[:, _PRESS]
    weights[:, _PRESS] = press + c[:, None] * np.maximum(CLOSURE_PRESS - press, 0.0)
    weights[:, _SNEER] *= (1.0 - 0.5 * c)[:, None]
    shrug = weights[:, _I["mouthShrugLower"]]
    np.maximum(shrug, c * weights[:, _SNEER].mean(axis=1), out=shrug)
    close = weights[:, _I["mouthClose"]]
    close += c * (jaw - close)
    return weights


def articulation_targets(segments: Sequence[PhoneSegment], duration: float, fps: float,
                         emotions=None) -> np.ndarray:
    """Float32 ``[frames, 52]`` ARKit targets for a clip (module docstring, steps 1-5).

    ``segments``: normalised phone segments (see :func:`.phonemes.phone_segments`);
    ``emotions``: None (neutral), a ``[6]`` vector or a ``[frames, 6]`` track in
    ``EMOTIONS`` order at ``fps``.
    """
    times = frame_times(duration, fps)
    emotion = emotion_matrix(emotions, len(times))
    weights = coarticulate(segments, times)
    jaw_gain, lips_gain = articulation_gains(emotion)
    weights[:, _JAW] *= jaw_gain[:, None]
    weights[:, _LIPS] *= lips_gain[:, None]
    weights += expression_weights(emotion)
    np.clip(weights, 0.0, 1.0, out=weights)
    apply_closure(weights, closure_envelope(segments, times, fps))
    return np.clip(weights, 0.0, 1.0, out=weights)


def lip_gap(weights: np.ndarray) -> np.ndarray:
    """``[frames]`` proxy of the lip opening (0 = lips touch); see the module docstring."""
    return (weights[:, _I["jawOpen"]] - weights[:, _I["mouthClose"]]
            + 0.5 * weights[:, _OPENERS[:4]].sum(axis=1) + weights[:, _I["mouthFunnel"]]
            + 0.5 * weights[:, _SNEER].mean(axis=1) - weights[:, _I["mouthShrugLower"]])


def bilabial_closures(segments: Sequence[PhoneSegment], weights: np.ndarray, fps: float) -> tuple[int, int]:
    """(bilabials whose frames shut the lips, bilabials): the check animators make first.

    A bilabial counts as shut when some frame within it (widened by half a frame, so
    that a segment shorter than a frame still owns one) has ``lip_gap < CLOSED_GAP``.
    """
    fps = check_fps(fps)
    return count_closed_bilabials(segments, lip_gap(np.asarray(weights)) < CLOSED_GAP, fps)


def count_closed_bilabials(segments: Sequence[PhoneSegment], closed: np.ndarray, fps: float,
                           widen_frames: float = 0.5) -> tuple[int, int]:
    """(bilabial segments with a ``closed`` frame within them, bilabial segments), each
    segment widened by ``widen_frames`` either side; ``closed`` is per frame at ``fps``,
    by whatever measure of the lips the caller trusts (weights, rig millimetres)."""
    times = np.arange(len(closed)) / fps
    shut = total = 0
    for seg in segments:
        if seg.phone not in BILABIALS:
            continue
        total += 1
        inside = (times >= seg.start - widen_frames / fps) & (times <= seg.end + widen_frames / fps)
        shut += bool(closed[inside].any())
    return shut, total
