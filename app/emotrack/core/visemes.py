"""ARPAbet phones -> visemes -> ARKit mouth targets, with their coarticulation dominance.

Phone -> viseme (diphthongs are two visemes, each over half of the phone):

    sil  SIL                      rest
    PP   P B M                    lips shut, pressed; jaw nearly closed
    FF   F V                      lower lip rolled in under the upper teeth
    TH   TH DH                    tongue tip between the teeth
    DD   T D                      tongue on the ridge, teeth slightly apart
    nn   N L                      as DD, a little more open
    kk   K G NG HH                back of the tongue; jaw follows the neighbours
    CH   CH JH SH ZH              lips pushed out and funnelled, teeth showing
    SS   S Z                      teeth together, lips apart and spread
    RR   R ER                     lips rounded a little
    aa   AA                       wide open
    ae   AE                       open and spread
    ah   AH                       half open
    E    EH                       half open, spread
    ih   IH IY Y                  nearly closed, spread
    oh   AO                       open and rounded
    ou   UW UH W                  nearly closed, puckered
    AW = aa+ou, AY = aa+ih, EY = E+ih, OW = oh+ou, OY = oh+ih

Targets (ARKit weights; ``_LR`` means both halves; unlisted shapes are 0):

    viseme  jawOpen mouthClose others
    sil     0       0
    PP      0.06    0.06       mouthPress_LR 0.5, mouthRollLower 0.2, mouthRollUpper 0.2
    FF      0.10    0          mouthRollLower 0.6, mouthUpperUp_LR 0.2
    TH      0.18    0          tongueOut 0.4, mouthUpperUp_LR 0.1
    DD      0.16    0          mouthStretch_LR 0.1, mouthUpperUp_LR 0.1
    nn      0.20    0          mouthStretch_LR 0.1
    kk      0.22    0          mouthStretch_LR 0.1
    CH      0.12    0          mouthFunnel 0.5, mouthPucker 0.2, mouthUpperUp_LR 0.2, mouthLowerDown_LR 0.2
    SS      0.06    0          mouthStretch_LR 0.3, mouthSmile_LR 0.1, mouthUpperUp_LR 0.15, mouthLowerDown_LR 0.15
    RR      0.16    0          mouthFunnel 0.3, mouthPucker 0.3
    aa      0.65    0          mouthLowerDown_LR 0.2
    ae      0.50    0          mouthStretch_LR 0.3, mouthUpperUp_LR 0.2, mouthLowerDown_LR 0.2
    ah      0.40    0          mouthLowerDown_LR 0.1
    E       0.35    0          mouthStretch_LR 0.25, mouthLowerDown_LR 0.15
    ih      0.15    0          mouthStretch_LR 0.4, mouthSmile_LR 0.15, mouthUpperUp_LR 0.1, mouthLowerDown_LR 0.1
    oh      0.45    0          mouthFunnel 0.5, mouthPucker 0.15
    ou      0.12    0          mouthPucker 0.7, mouthFunnel 0.35

Dominance (Cohen & Massaro 1993): a segment's pull on a shape is
``alpha * exp(-theta * |t - centre|)``; ``alpha`` is per shape group (jaw = jawOpen and
mouthClose, lips = the other mouth shapes, tongue = tongueOut), ``theta`` (1/s) sets
how far the segment reaches into its neighbours (1/theta = the time its pull falls to
1/e). Bilabials and labiodentals dominate the lips (their closure cannot be skipped;
the jaw of a bilabial is left moderate, as the final closure step of
:mod:`.articulation` caps it anyway and a strong jaw pull would flatten the vowels
between /b/s);
lingual consonants barely touch the lips, so rounding of a neighbouring vowel carries
through them (anticipatory rounding); rest and HH are weak everywhere.

    viseme          jaw   lips  tongue  theta
    sil             0.3   0.3   0.3     12
    PP              2     6     1       40
    FF              2     5     1       35
    TH              1     0.5   5       30
    DD nn kk        1     0.3   1       30
    SS              2     0.5   1       30
    CH              1.5   2.5   1       30
    RR              0.8   1.2   1       25
    vowels          1     1     1       15
    oh ou           1     1.5   1       12   (rounding spreads furthest)
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .face_arkit import ARKIT_INDEX, ARKIT_NAMES
from .phonemes import SILENCE

PHONE_VISEMES: dict[str, tuple[str, ...]] = {
    SILENCE: ("sil",),
    "P": ("PP",), "B": ("PP",), "M": ("PP",),
    "F": ("FF",), "V": ("FF",),
    "TH": ("TH",), "DH": ("TH",),
    "T": ("DD",), "D": ("DD",),
    "N": ("nn",), "L": ("nn",),
    "K": ("kk",), "G": ("kk",), "NG": ("kk",), "HH": ("kk",),
    "CH": ("CH",), "JH": ("CH",), "SH": ("CH",), "ZH": ("CH",),
    "S": ("SS",), "Z": ("SS",),
    "R": ("RR",), "ER": ("RR",),
    "AA": ("aa",), "AE": ("ae",), "AH": ("ah",), "EH": ("E",),
    "IH": ("ih",), "IY": ("ih",), "Y": ("ih",),
    "AO": ("oh",), "UW": ("ou",), "UH": ("ou",), "W": ("ou",),
    "AW": ("aa", "ou"), "AY": ("aa", "ih"), "EY": ("E", "ih"), "OW": ("oh", "ou"), "OY": ("oh", "ih"),
}

_LR = ("Left", "Right")
_TARGETS: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"jawOpen": 0.06, "mouthClose": 0.06, "mouthPress_LR": 0.5, "mouthRollLower": 0.2,
           "mouthRollUpper": 0.2},
    "FF": {"jawOpen": 0.10, "mouthRollLower": 0.6, "mouthUpperUp_LR": 0.2},
    "TH": {"jawOpen": 0.18, "tongueOut": 0.4, "mouthUpperUp_LR": 0.1},
    "DD": {"jawOpen": 0.16, "mouthStretch_LR": 0.1, "mouthUpperUp_LR": 0.1},
    "nn": {"jawOpen": 0.20, "mouthStretch_LR": 0.1},
    "kk": {"jawOpen": 0.22, "mouthStretch_LR": 0.1},
    "CH": {"jawOpen": 0.12, "mouthFunnel": 0.5, "mouthPucker": 0.2, "mouthUpperUp_LR": 0.2,
           "mouthLowerDown_LR": 0.2},
    "SS": {"jawOpen": 0.06, "mouthStretch_LR": 0.3, "mouthSmile_LR": 0.1, "mouthUpperUp_LR": 0.15,
           "mouthLowerDown_LR": 0.15},
    "RR": {"jawOpen": 0.16, "mouthFunnel": 0.3, "mouthPucker": 0.3},
    "aa": {"jawOpen": 0.65, "mouthLowerDown_LR": 0.2},
    "ae": {"jawOpen": 0.50, "mouthStretch_LR": 0.3, "mouthUpperUp_LR": 0.2, "mouthLowerDown_LR": 0.2},
    "ah": {"jawOpen": 0.40, "mouthLowerDown_LR": 0.1},
    "E": {"jawOpen": 0.35, "mouthStretch_LR": 0.25, "mouthLowerDown_LR": 0.15},
    "ih": {"jawOpen": 0.15, "mouthStretch_LR": 0.4, "mouthSmile_LR": 0.15, "mouthUpperUp_LR": 0.1,
           "mouthLowerDown_LR": 0.1},
    "oh": {"jawOpen": 0.45, "mouthFunnel": 0.5, "mouthPucker": 0.15},
    "ou": {"jawOpen": 0.12, "mouthPucker": 0.7, "mouthFunnel": 0.35},
}

# (jaw, lips, tongue, theta): see the module docstring.
_DOMINANCE: dict[str, tuple[float, float, float, float]] = {
    "sil": (0.3, 0.3, 0.3, 12.0),
    "PP": (2.0, 6.0, 1.0, 40.0),
    "FF": (2.0, 5.0, 1.0, 35.0),
    "TH": (1.0, 0.5, 5.0, 30.0),
    "DD": (1.0, 0.3, 1.0, 30.0), "nn": (1.0, 0.3, 1.0, 30.0), "kk": (1.0, 0.3, 1.0, 30.0),
    "SS": (2.0, 0.5, 1.0, 30.0),
    "CH": (1.5, 2.5, 1.0, 30.0),
    "RR": (0.8, 1.2, 1.0, 25.0),
    "aa": (1.0, 1.0, 1.0, 15.0), "ae": (1.0, 1.0, 1.0, 15.0), "ah": (1.0, 1.0, 1.0, 15.0),
    "E": (1.0, 1.0, 1.0, 15.0), "ih": (1.0, 1.0, 1.0, 15.0),
    "oh": (1.0, 1.5, 1.0, 12.0), "ou": (1.0, 1.5, 1.0, 12.0),
}

VISEMES: tuple[str, ...] = tuple(_TARGETS)
JAW_SHAPES: tuple[str, ...] = ("jawOpen", "mouthClose")
TONGUE_SHAPES: tuple[str, ...] = ("tongueOut",)
# Every shape the articulation drives; the rest of the face is left to the emotion layer.
MOUTH_SHAPES: tuple[str, ...] = tuple(
    n for n in ARKIT_NAMES if n.startswith(("jaw", "mouth")) or n == "tongueOut"
)


def _target_vector(spec: dict[str, float]) -> np.ndarray:
    vector = np.zeros(len(ARKIT_NAMES), np.float32)
    for name, value in spec.items():
        names = [name.replace("_LR", side) for side in _LR] if name.endswith("_LR") else [name]
        for n in names:
            vector[ARKIT_INDEX[n]] = value
    return vector


VISEME_TARGETS: dict[str, np.ndarray] = {v: _target_vector(s) for v, s in _TARGETS.items()}


def _group_of(name: str) -> int:
    return 0 if name in JAW_SHAPES else 2 if name in TONGUE_SHAPES else 1


_SHAPE_GROUP = np.array([_group_of(n) for n in ARKIT_NAMES])


def dominance_alpha(viseme: str) -> np.ndarray:
    """A viseme's peak dominance for each of the 52 shapes (its group's alpha)."""
    jaw, lips, tongue, _ = _DOMINANCE[viseme]
    return np.array([jaw, lips, tongue], np.float32)[_SHAPE_GROUP]


def dominance_theta(viseme: str) -> float:
    """How fast (1/s) the viseme's dominance decays away from its centre."""
    return _DOMINANCE[viseme][3]


def visemes_of(phone: str) -> tuple[str, ...]:
    """The viseme(s) of a normalised ARPAbet phone (two for a diphthong)."""
    try:
        return PHONE_VISEMES[phone]
    except KeyError:
        raise ParameterError(f"phone {phone!r} has no viseme (normalise it first)") from None
