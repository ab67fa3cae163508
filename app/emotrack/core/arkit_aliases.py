"""Other tools' names for the ARKit-52 blendshapes, as data (their name -> ARKit name).

These tables are **best-effort**, written from the tools' documented and commonly
exported names; they are not complete and a tool's next release may rename things.
A user's mapping file always overrides them (see :mod:`.character_names`).

Only names that do *not* already match after normalisation are needed here: matching
ignores case, separators, ``_L``/``_R``/``Left``/``Right`` spelling and common
prefixes, so ``Eye_Blink_L``, ``eyeBlinkL``, ``EyeBlinkLeft`` and ``mouthSmile_L`` reach
``eyeBlinkLeft`` / ``mouthSmileLeft`` without an entry. Several of a tool's shapes may
name one ARKit shape (e.g. CC4's left and right inner brow raise both feed
``browInnerUp``): the character then drives them together with that one weight.
"""

from __future__ import annotations

# Character Creator 4 / iClone "Extended" facial profile (and CC3's older names).
CHARACTER_CREATOR: dict[str, str] = {
    # eyes: CC names the looking direction from the character's view, ARKit in/out.
    "Eye_L_Look_L": "eyeLookOutLeft", "Eye_L_Look_R": "eyeLookInLeft",
    "Eye_R_Look_L": "eyeLookInRight", "Eye_R_Look_R": "eyeLookOutRight",
    "Eye_L_Look_Up": "eyeLookUpLeft", "Eye_R_Look_Up": "eyeLookUpRight",
    "Eye_L_Look_Down": "eyeLookDownLeft", "Eye_R_Look_Down": "eyeLookDownRight",
    # brows
    "Brow_Drop_L": "browDownLeft", "Brow_Drop_R": "browDownRight",
    "Brow_Drop_Left": "browDownLeft", "Brow_Drop_Right": "browDownRight",
    "Brow_Raise_Inner_L": "browInnerUp", "Brow_Raise_Inner_R": "browInnerUp",
    "Brow_Raise_Inner_Left": "browInnerUp", "Brow_Raise_Inner_Right": "browInnerUp",
    "Brow_Raise_Outer_L": "browOuterUpLeft", "Brow_Raise_Outer_R": "browOuterUpRight",
    "Brow_Raise_Outer_Left": "browOuterUpLeft", "Brow_Raise_Outer_Right": "browOuterUpRight",
    # cheeks and nose
    "Cheek_Puff_L": "cheekPuff", "Cheek_Puff_R": "cheekPuff",
    "Cheek_Raise_L": "cheekSquintLeft", "Cheek_Raise_R": "cheekSquintRight",
    "Nose_Scrunch_L": "noseSneerLeft", "Nose_Scrunch_R": "noseSneerRight",
    # jaw
    "Jaw_Fwd": "jawForward",
    # mouth: CC4 splits funnel, pucker and roll into upper/lower, left/right parts.
    "Mouth_Funnel_Up_L": "mouthFunnel", "Mouth_Funnel_Up_R": "mouthFunnel",
    "Mouth_Funnel_Down_L": "mouthFunnel", "Mouth_Funnel_Down_R": "mouthFunnel",
    "Mouth_Pucker_Up_L": "mouthPucker", "Mouth_Pucker_Up_R": "mouthPucker",
    "Mouth_Pucker_Down_L": "mouthPucker", "Mouth_Pucker_Down_R": "mouthPucker",
    "Mouth_Roll_In_Upper_L": "mouthRollUpper", "Mouth_Roll_In_Upper_R": "mouthRollUpper",
    "Mouth_Roll_In_Lower_L": "mouthRollLower", "Mouth_Roll_In_Lower_R": "mouthRollLower",
    "Mouth_Roll_In_Upper": "mouthRollUpper", "Mouth_Roll_In_Lower": "mouthRollLower",
    "Mouth_Up_Upper_L": "mouthUpperUpLeft", "Mouth_Up_Upper_R": "mouthUpperUpRight",
    "Mouth_Down_Lower_L": "mouthLowerDownLeft", "Mouth_Down_Lower_R": "mouthLowerDownRight",
}

# MetaHuman RigLogic expression curves (``CTRL_expressions_*``; the prefix is stripped
# before matching) that the ARKit remap asset drives.
METAHUMAN: dict[str, str] = {
    "browRaiseInL": "browInnerUp", "browRaiseInR": "browInnerUp",
    "browRaiseOuterL": "browOuterUpLeft", "browRaiseOuterR": "browOuterUpRight",
    "eyeWidenL": "eyeWideLeft", "eyeWidenR": "eyeWideRight",
    "eyeSquintInnerL": "eyeSquintLeft", "eyeSquintInnerR": "eyeSquintRight",
    "eyeCheekRaiseL": "cheekSquintLeft", "eyeCheekRaiseR": "cheekSquintRight",
    "eyeLookLeftL": "eyeLookOutLeft", "eyeLookRightL": "eyeLookInLeft",
    "eyeLookLeftR": "eyeLookInRight", "eyeLookRightR": "eyeLookOutRight",
    "jawFwd": "jawForward",
    "mouthCornerPullL": "mouthSmileLeft", "mouthCornerPullR": "mouthSmileRight",
    "mouthCornerDepressL": "mouthFrownLeft", "mouthCornerDepressR": "mouthFrownRight",
    "noseWrinkleL": "noseSneerLeft", "noseWrinkleR": "noseSneerRight",
    "mouthCheekBlowL": "cheekPuff", "mouthCheekBlowR": "cheekPuff",
    "mouthLipsTogetherUL": "mouthClose", "mouthLipsTogetherUR": "mouthClose",
    "mouthLipsTogetherDL": "mouthClose", "mouthLipsTogetherDR": "mouthClose",
    "mouthFunnelUL": "mouthFunnel", "mouthFunnelUR": "mouthFunnel",
    "mouthFunnelDL": "mouthFunnel", "mouthFunnelDR": "mouthFunnel",
    "mouthLipsPurseUL": "mouthPucker", "mouthLipsPurseUR": "mouthPucker",
    "mouthLipsPurseDL": "mouthPucker", "mouthLipsPurseDR": "mouthPucker",
    "mouthUpperLipRollInL": "mouthRollUpper", "mouthUpperLipRollInR": "mouthRollUpper",
    "mouthLowerLipRollInL": "mouthRollLower", "mouthLowerLipRollInR": "mouthRollLower",
    "mouthUpperLipRaiseL": "mouthUpperUpLeft", "mouthUpperLipRaiseR": "mouthUpperUpRight",
    "mouthLowerLipDepressL": "mouthLowerDownLeft", "mouthLowerLipDepressR": "mouthLowerDownRight",
}

# Spellings seen in other rigs and retargeting presets (Faceware, Polywink, hand-made).
COMMON_VARIANTS: dict[str, str] = {
    "mouthClosed": "mouthClose", "jawOpened": "jawOpen", "jawFwd": "jawForward",
    "browInnerUpLeft": "browInnerUp", "browInnerUpRight": "browInnerUp",
    "cheekPuffLeft": "cheekPuff", "cheekPuffRight": "cheekPuff",
    "tongueExtend": "tongueOut",
}

ALIAS_TABLES: dict[str, dict[str, str]] = {
    "Character Creator": CHARACTER_CREATOR,
    "MetaHuman": METAHUMAN,
    "common variants": COMMON_VARIANTS,
}
