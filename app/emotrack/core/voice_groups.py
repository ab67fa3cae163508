"""Group a batch of lines by voice, so that each voice's own lines become its actor reference.

The actor head reads emotion far better against the actor's reference (the mean encoder
state over many of their lines) than the plain head reads a line alone. A pipeline
usually holds many lines of each of a few actors, but rarely says who speaks which line.
So ``emotrack classify`` groups the lines by voice first and makes each group's reference
from its own lines (``emotrack.ml.emotion.actor``).

Voices are compared in a *voice space*: a linear projection of each line's mean encoder
state (its speech windows, layers ``VoiceSpace.layers``) that whitens the scatter of the
training speakers' lines around their own speaker's mean
(``emotrack.ml.emotion.voice_space_training``), so that anger and sadness of one actor
land near each other while two actors stay apart. Lines are joined by
average-linkage clustering on cosine distance, cut at ``VoiceSpace.threshold``: no
number of voices is needed, and a batch of one actor stays one group. A group whose lines
mostly sound alike (more than ``DROP_SHARE`` of them heard as one emotion by the plain
head) would make that mood its actor's "normal", so its lines are read without a
reference, as a line alone would be.

Plain numpy + scipy + safetensors: no torch, no Qt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError, ParameterError
from ..resources import ACTOR_FOLDER, checkpoint_dir
from .actor_reference import ActorReference, ReferenceAccumulator

VOICE_SPACE_FILE = "voice-space.safetensors"  # in the actor head's folder
# Above this many lines the clustering (quadratic memory) runs on an even sample of them
# and every other line joins the nearest group it found.
MAX_CLUSTERED_LINES = 3000
# A group with more of its lines than this heard as one emotion is read without a reference.
# Chosen out of fold (model card): at 0.5 or 0.6 it also dropped the references of a few
# training speakers whose every line the plain head hears alike (-0.03 on varied batches); at
# 0.7 no varied batch lost, and batches of one actor in one mood read at 0.63 (0.38 unguarded).
DROP_SHARE = 0.7


@dataclass(frozen=True)
class VoiceSpace:
    """``embed(states)`` = unit-length ``((states - mean) / scale) @ projection - centre``."""

    layers: tuple[int, ...]  # encoder hidden states whose speech-window mean a line's voice is
    mean: np.ndarray  # [d_in]
    scale: np.ndarray  # [d_in]
    projection: np.ndarray  # [d_in, k]
    centre: np.ndarray  # [k]: the training lines' mean, so one voice alone is not centred away
    threshold: float  # cosine distance at which the average-linkage tree is cut

    def __post_init__(self) -> None:
        for name in ("mean", "scale", "projection", "centre"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float32))
        object.__setattr__(self, "layers", tuple(int(layer) for layer in self.layers))
        d_in, k = self.projection.shape if self.projection.ndim == 2 else (-1, -1)
        if d_in < 1 or self.mean.shape != (d_in,) or self.scale.shape != (d_in,) or self.centre.shape != (k,):
            raise ModelError(f"inconsistent voice space: projection {self.projection.shape}, mean "
                             f"{self.mean.shape}, scale {self.scale.shape}, centre {self.centre.shape}")
        if not 0 < self.threshold <= 2:
            raise ModelError(f"a voice space's threshold is a cosine distance in (0, 2], got {self.threshold}")

    def embed(self, states: np.ndarray) -> np.ndarray:
        """Unit vectors ``[n, k]`` of lines' mean states ``[n, d_in]``."""
        states = np.atleast_2d(np.asarray(states, dtype=np.float32))
        if states.shape[1] != len(self.mean):
            raise ParameterError(f"voice states have {states.shape[1]} values; the voice space needs "
                                 f"{len(self.mean)}")
        points = ((states - self.mean) / self.scale) @ self.projection - self.centre
        return points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)

    def save(self, folder: str | Path) -> Path:
        from safetensors.numpy import save_file

        path = Path(folder) / VOICE_SPACE_FILE
        tensors = {name: np.ascontiguousarray(getattr(self, name)) for name in ("mean", "scale", "projection",
                                                                                 "centre")}
        save_file(tensors, str(path), metadata={"layers": json.dumps(list(self.layers)),
                                                "threshold": repr(float(self.threshold))})
        return path

    @classmethod
    def load(cls, folder: str | Path) -> VoiceSpace | None:
        """The voice space saved in ``folder``, or None when it has none."""
        from safetensors import SafetensorError, safe_open

        path = Path(folder) / VOICE_SPACE_FILE
        if not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="numpy") as stored:
                metadata = stored.metadata() or {}
                tensors = {name: stored.get_tensor(name) for name in ("mean", "scale", "projection", "centre")}
            return cls(layers=tuple(json.loads(metadata["layers"])), threshold=float(metadata["threshold"]),
                       **tensors)
        except (OSError, KeyError, ValueError, TypeError, SafetensorError) as error:
            raise ModelError(f"damaged voice space {path}: {error}") from error


def voice_space_folder(model_dir: str | Path) -> Path:
    """The folder holding the voice space of emotion model folder ``model_dir``: its actor
    head's, or for a heads folder without a voice space of its own (the bundled fast
    model), its checkpoint's. A voice space reads the encoder alone, which they share."""
    own = Path(model_dir) / ACTOR_FOLDER
    if (own / VOICE_SPACE_FILE).is_file():
        return own
    return checkpoint_dir(model_dir) / ACTOR_FOLDER


def group_voices(embeddings: np.ndarray, threshold: float) -> np.ndarray:
    """Group index (0, 1, ...; numbered in order of first appearance) of each line, from
    unit voice vectors ``[n, k]``: average-linkage clusters cut at cosine distance ``threshold``."""
    from scipy.cluster.hierarchy import fcluster, linkage

    embeddings = np.asarray(embeddings, dtype=np.float64)
    n = len(embeddings)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    sample = np.arange(n) if n <= MAX_CLUSTERED_LINES else np.linspace(0, n - 1, MAX_CLUSTERED_LINES).astype(int)
    # Average linkage on cosine distance of unit vectors (clusters compared by their mean distance).
    tree = linkage(embeddings[sample], method="average", metric="cosine")
    found = fcluster(tree, threshold, criterion="distance") - 1
    if len(sample) < n:
        centroids = np.stack([embeddings[sample[found == g]].mean(axis=0) for g in range(found.max() + 1)])
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        groups = (embeddings @ centroids.T).argmax(axis=1)
    else:
        groups = found
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # renumber groups by the line where each first appears
    return order[inverse].astype(np.int64)


@dataclass(frozen=True)
class VoiceGroup:
    """Lines heard as one voice, and the reference they are read against (None: each line
    is read alone, because the group is one-sided)."""

    number: int  # 1, 2, ... in order of the batch
    members: tuple[int, ...]  # indices of its lines in the batch
    reference: ActorReference | None
    moods: dict[str, int]  # lines per emotion the plain head hears

    @property
    def one_sided(self) -> bool:
        return self.reference is None

    @property
    def warns(self) -> bool:
        """Read alone although it holds several lines: worth telling the user why."""
        return self.one_sided and len(self.members) > 1

    def describe(self) -> str:
        if len(self.members) == 1:
            return f"voice {self.number}: 1 line, read alone"
        if self.reference is not None:
            return f"voice {self.number}: {len(self.members)} lines, read against their own reference"
        mood = max(self.moods, key=self.moods.get) if self.moods else "one emotion"
        return (f"voice {self.number}: {len(self.members)} lines, most of them sound like {mood}; a reference "
                "of one mood would hide it, so each line is read alone")


def voice_groups(groups: np.ndarray, state_sums: list[tuple[np.ndarray, int]], moods: list[str | None],
                 names: list[str], model: str, layers: tuple[int, ...]) -> list[VoiceGroup]:
    """The :class:`VoiceGroup` of each group index in ``groups``; each line's ``(sum, count)``
    of its speech-window states (the actor head's layers) and its plain mood make its
    group's reference."""
    out = []
    for number in range(int(groups.max()) + 1 if len(groups) else 0):
        members = tuple(int(i) for i in np.flatnonzero(groups == number))
        accumulator = ReferenceAccumulator()
        for i in members:
            accumulator.add_sum(names[i], *state_sums[i], moods[i])
        reference = None
        if accumulator.windows:
            candidate = accumulator.reference(model, layers, name=f"voice {number + 1}")
            reference = None if candidate.dominant_mood[1] > DROP_SHARE else candidate
        out.append(VoiceGroup(number + 1, members, reference, dict(accumulator.moods)))
    return out
