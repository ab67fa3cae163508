"""The six canonical emotions, label normalisation, and human-readable readouts.

Everything that names an emotion goes through this module so that a checkpoint's
``id2label`` ("ang", "happy", "sad", ...) and the app's curves agree on one vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

# Order matters: vectors everywhere in the core are indexed by this tuple.
EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "neutral", "sadness")

# Lower-cased aliases seen in public emotion checkpoints and corpora.
_ALIASES: dict[str, str] = {
    "anger": "anger", "angry": "anger", "ang": "anger", "mad": "anger",
    "disgust": "disgust", "disgusted": "disgust", "dis": "disgust", "disgusting": "disgust",
    "fear": "fear", "fearful": "fear", "fea": "fear", "scared": "fear", "afraid": "fear",
    "joy": "joy", "happy": "joy", "happiness": "joy", "hap": "joy", "joyful": "joy",
    "gio": "joy",  # EMOVO's Italian "gioia"
    "neutral": "neutral", "neu": "neutral", "calm": "neutral",
    "sadness": "sadness", "sad": "sadness", "sa": "sadness", "sadnes": "sadness",
    "tri": "sadness",  # EMOVO "tristezza"
    "rab": "anger",  # EMOVO "rabbia"
    "pau": "fear",  # EMOVO "paura"
    "disg": "disgust",
}


def canonical_label(label: str) -> str:
    """Map a checkpoint or corpus label onto the app's vocabulary.

    Unknown labels (e.g. "surprise", "other") are returned lower-cased and stripped,
    never dropped: the app shows them as extra curves.
    """
    key = label.strip().lower().replace("-", "_")
    if key in _ALIASES:
        return _ALIASES[key]
    # "LABEL_0"-style names carry no meaning; "neutral_speech"-style ones often do.
    head = key.split("_")[0]
    return _ALIASES.get(head, key)


def canonical_labels(labels: Iterable[str]) -> list[str]:
    """Canonical names for a sequence of labels; duplicates are a checkpoint error."""
    names = [canonical_label(label) for label in labels]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(
            f"labels {list(labels)} map to the same emotion more than once: {sorted(duplicates)}"
        )
    return names


def normalise(vector: np.ndarray, axis: int = -1) -> np.ndarray:
    """Scale non-negative weights to sum to 1; an all-zero row becomes neutral."""
    vector = np.clip(np.asarray(vector, dtype=np.float64), 0.0, None)
    total = vector.sum(axis=axis, keepdims=True)
    out = np.divide(vector, total, out=np.zeros_like(vector), where=total > 0)
    if vector.shape[axis] == len(EMOTIONS):
        empty = np.squeeze(total <= 0, axis=axis)
        if np.any(empty):
            out[empty] = 0.0
            out[empty, EMOTIONS.index("neutral")] = 1.0
    return out


def readout(vector: Sequence[float] | np.ndarray, names: Sequence[str] = EMOTIONS,
            min_percent: float = 5.0) -> str:
    """'Anger 70 %, Sadness 30 %': emotions at or above ``min_percent``, strongest first.

    Percentages are of the whole vector, rounded with largest remainders so that all
    of them would add up to 100; emotions below ``min_percent`` are left out.
    """
    values = np.asarray(vector, dtype=np.float64)
    if values.shape != (len(names),):
        raise ValueError(f"expected {len(names)} values, got shape {values.shape}")
    total = values.sum()
    if total <= 0:
        return "No emotion"
    percent = 100.0 * values / total
    rounded = np.floor(percent).astype(int)
    for i in np.argsort(-(percent - rounded), kind="stable")[: 100 - rounded.sum()]:
        rounded[i] += 1
    order = np.argsort(-percent, kind="stable")
    shown = [i for i in order if rounded[i] >= min_percent] or [int(order[0])]
    return ", ".join(f"{names[i].capitalize()} {rounded[i]} %" for i in shown)


def as_vector(probabilities: Mapping[str, float], names: Sequence[str] = EMOTIONS) -> np.ndarray:
    """A probability dict ordered as ``names``; missing names are 0."""
    return np.array([float(probabilities.get(n, 0.0)) for n in names])
