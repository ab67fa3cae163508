"""Learning from an animator's corrections: fine-tune an emotion model on locked keys.

    emotrack train emotion --from-projects take1.emotrack take2.emotrack --out my-model

Every locked key of the projects labels the analysis windows it summarises
(:mod:`emotrack.core.corrections`). Some keys are held out to measure accuracy before
and after: whole projects when there are two or more, else the last quarter of the one
project's keys in time order. Accuracy is per key: the argmax of the window
probabilities averaged over the key's windows against the argmax of the key's values.

What is fine-tuned, and why only that: the head that read the project's windows. Without
an actor reference that is the classification head (``layer_weights`` when the model has
them, ``projector``, ``classifier``), for Whisper and wav2vec2-style classifiers alike, or
the model folder's ``plain/`` head when it has one, as it then reads every window in place
of the checkpoint's head. A project read against an actor reference teaches the actor
head instead (``actor/``), on its windows minus that reference, since that head made its
keys: corrections to the plain head would never show there. An animator corrects tens of keys,
not thousands of clips; the encoder's features carry what the corpus taught and stay
frozen. As the head pools linearly (mean over a window's frames of
``projector(sum_l w_l h_l)``, or of the plain head's layers side by side), each window's
frames are pooled per layer once, under the frozen encoder, and training runs only the
head on those cached vectors: seconds, even on CPU.

The guard against forgetting the corpus: an L2-SP penalty (Li et al. 2018, "Explicit
inductive bias for transfer learning") pulls the head's weights toward the base model's
rather than toward zero, plus few epochs at a small learning rate. Each key weighs the
same in the loss whatever its length, so one long correction does not dominate. The
base model's calibrated softmax temperature is kept and trained through.

The new model goes to ``--out`` (never over the base model) with ``corrections.json``:
the figures and the base model, so the app can revert to it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emotrack.core.actor_reference import ACTOR_FOLDER
from emotrack.core.corrections import REPORT_FILE, CorrectedKey, correction_targets, split_held_out
from emotrack.core.document import Project
from emotrack.core.project_file import load_project
from emotrack.core.voice_groups import VOICE_SPACE_FILE, voice_space_folder
from emotrack.errors import AudioError, EmotrackError, ModelError, ParameterError, ProjectError
from emotrack.json_lines import json_line
from emotrack.ml.device import autocast
from emotrack.ml.emotion.actor import reference_vector
from emotrack.ml.emotion.modeling import EmotionModel, cut_windows, normalise_windows
from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER
from emotrack.resources import checkpoint_dir, emotion_model_dir

# stage, done, total: "features" per project, "training" per epoch.
Progress = Callable[[str, int, int], None]


class LearningCancelled(EmotrackError):
    """The user cancelled learning; no model was written."""


@dataclass
class CorrectionSource:
    """One corrected project and its clip (mono, at the model's sample rate)."""

    name: str
    project: Project
    samples: np.ndarray


@dataclass
class LearningOptions:
    """Fine-tuning settings; the defaults are deliberately gentle (see the module doc)."""

    epochs: int = 20
    lr: float = 1e-3
    l2sp: float = 1e-2  # strength of the pull toward the base head's weights
    batch_size: int = 32
    held_out_share: float = 0.25
    seed: int = 0

    def validate(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ParameterError("epochs and batch size must be at least 1")
        if not self.lr > 0:
            raise ParameterError(f"learning rate must be positive, got {self.lr}")
        if self.l2sp < 0:
            raise ParameterError(f"the L2-SP strength must be 0 or more, got {self.l2sp}")
        if not 0 < self.held_out_share < 1:
            raise ParameterError(f"the held-out share must be between 0 and 1, got {self.held_out_share}")


@dataclass
class CorrectionsReport:
    """What learning did; written to ``corrections.json`` beside the new model."""

    base_model: str | None  # as given (a bundled name, a folder, or None = default)
    base_model_path: str  # the folder it resolved to
    output: str
    projects: list[str]
    split: str  # how the held-out keys were chosen
    train_keys: int
    train_windows: int
    held_out_keys: int
    held_out_windows: int
    edited_keys: int  # of all keys used: changed by the animator ...
    confirmed_keys: int  # ... or locked as inferred
    silent_keys: int  # locked keys over silence, not used
    accuracy_before: float  # held-out key accuracy of the base model
    accuracy_after: float
    train_accuracy_before: float
    train_accuracy_after: float
    options: dict = field(default_factory=dict)
    created: str = ""
    # The heads that learned: "plain" (projects read without an actor reference), "actor".
    heads: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for people (the CLI's stdout, the app's message)."""
        against = {("actor",): " (the actor head: read against their actor reference)",
                   ("actor", "plain"): " (the actor head for those read against an actor reference, the plain "
                                       "head for the others)"}.get(tuple(self.heads), "")
        return (f"Learned from {self.train_keys} corrected keys ({self.train_windows} windows) in "
                f"{len(self.projects)} project(s){against}; {self.split}.\n"
                f"Held-out accuracy ({self.held_out_keys} keys): before {self.accuracy_before:.0%}, "
                f"after {self.accuracy_after:.0%}.\n"
                f"New model: {self.output} (previous: {self.base_model_path})")


# --- loading ---------------------------------------------------------------------------
def project_paths(paths: Sequence[Path]) -> list[Path]:
    """The project files named, a folder standing for the ``*.emotrack`` files in it."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found += sorted(path.glob("*.emotrack"))
        else:
            found.append(path)
    if not found:
        raise ParameterError("no project files given (--from-projects P1.emotrack ...)")
    return found


def load_sources(paths: Sequence[Path], sample_rate: int = 16000) -> list[CorrectionSource]:
    """Each project with its audio; a one-line ProjectError when the audio is missing."""
    from emotrack.core.file_digest import file_sha256
    from emotrack.io.audio import load_audio

    sources = []
    for path in project_paths(paths):
        project = load_project(path)
        if project.audio is None or not project.audio.path:
            raise ProjectError(f"{path.name}: the project has no audio file")
        audio = Path(project.audio.path)
        if not audio.is_file():
            raise ProjectError(f"{path.name}: its audio is missing ({audio})")
        if project.audio.sha256 and file_sha256(audio) != project.audio.sha256:
            raise ProjectError(f"{path.name}: {audio.name} changed since the keys were made")
        try:
            clip = load_audio(audio, target_rate=sample_rate)
        except AudioError as error:
            raise ProjectError(f"{path.name}: {error}") from error
        sources.append(CorrectionSource(path.name, project, clip.samples))
    return sources


# --- the head and its inputs -----------------------------------------------------------
class ClassificationHead(nn.Module):
    """The fine-tuned part of a classifier (the model's own modules, so training them
    trains the model): ``classifier(projector(sum_l softmax(w)_l x_l))`` of pooled states,
    or the plain head's ``classifier`` of its layers' pooled states side by side."""

    def __init__(self, model: EmotionModel) -> None:
        super().__init__()
        self.plain_head = model.plain_head
        if self.plain_head is not None:
            return
        network = model.model
        if not (hasattr(network, "projector") and hasattr(network, "classifier")):
            raise ModelError(f"a {type(network).__name__} cannot learn from corrections: only "
                             "Whisper and wav2vec2-style classifiers (projector + classifier) can")
        self.weighted = bool(getattr(network.config, "use_weighted_layer_sum", False))
        self.layer_weights = network.layer_weights if self.weighted else None
        self.projector = network.projector
        self.classifier = network.classifier

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        """Logits (checkpoint column order) of pooled states ``[n, layers, d]``, the layers
        of :func:`pooled_layers`."""
        if self.plain_head is not None:
            return self.plain_head(pooled.flatten(1))
        if self.weighted:
            hidden = torch.einsum("l,nld->nd", torch.softmax(self.layer_weights, dim=-1), pooled)
        else:
            hidden = pooled[:, -1]
        return self.classifier(self.projector(hidden))


class ActorClassificationHead(nn.Module):
    """The actor head's classifier (the model's own module), on windows already read
    against their project's actor reference: ``[n, d]`` window means minus the reference."""

    def __init__(self, model: EmotionModel) -> None:
        super().__init__()
        self.classifier = model.actor_head.classifier

    def forward(self, centred: torch.Tensor) -> torch.Tensor:
        return self.classifier(centred)


@torch.inference_mode()
def actor_window_states(model: EmotionModel, samples: np.ndarray, starts: np.ndarray, window: int) -> torch.Tensor:
    """``[len(starts), d]``: each window's mean states of the actor head's layers, side by
    side, as the actor head reads them."""
    return _whisper_pooled(model, samples, starts, window, list(model.actor_head.config.layers)).flatten(1)


def pooled_layers(model: EmotionModel) -> list[int] | None:
    """The hidden states the head reads: the plain head's layers, every one (None) for a
    weighted layer sum, else the last alone ([-1])."""
    if model.plain_head is not None:
        return list(model.plain_head.config.layers)
    return None if getattr(model.model.config, "use_weighted_layer_sum", False) else [-1]


@torch.inference_mode()
def pooled_states(model: EmotionModel, samples: np.ndarray, starts: np.ndarray, window: int,
                  batch_size: int = 16) -> torch.Tensor:
    """The frozen encoder's hidden states, averaged over each window's frames:
    ``[len(starts), layers, d]`` on the model's device, float32, for the layers that
    :func:`pooled_layers` names."""
    layers = pooled_layers(model)
    weighted = layers is None
    if len(starts) == 0:
        return torch.zeros(0)
    if model.whisper is not None:
        return _whisper_pooled(model, samples, starts, window, layers)
    base = getattr(model.model, model.model.base_model_prefix)
    rows = []
    for begin in range(0, len(starts), batch_size):
        batch = torch.from_numpy(cut_windows(samples, starts[begin:begin + batch_size], window)).to(model.device)
        if model.normalize:
            batch = normalise_windows(batch)
        with autocast(model.device):
            outputs = base(batch, output_hidden_states=weighted)
        states = (torch.stack(outputs.hidden_states, dim=1) if weighted
                  else outputs.last_hidden_state[:, None])
        rows.append(states.float().mean(dim=2))
    return torch.cat(rows)


def _whisper_pooled(model: EmotionModel, samples: np.ndarray, starts: np.ndarray, window: int,
                    layers: list[int] | None) -> torch.Tensor:
    """As ``WhisperWindowScorer.logits_from_encoding`` pools frames, one group of nearby
    windows per encoding (the encoder's chunk grid is fixed, so grouping changes nothing)."""
    scorer = model.whisper
    rows = []
    for begin, end in scorer.window_groups(starts, window):
        group = starts[begin:end]
        encoding = scorer.encode(samples, int(max(0, group.min())), int(group.max()) + window)
        states = encoding.hidden_states.float() if layers is None else encoding.hidden_states[layers].float()
        for start in group:
            first, last = encoding.frame_range(int(start), window)
            rows.append(states[:, first:last].mean(dim=1))
    return torch.stack(rows)


# --- the data: windows, targets, keys --------------------------------------------------
@dataclass
class WindowSet:
    """Pooled states of labelled windows, their soft targets (model label order), and
    the key each one belongs to (for per-key accuracy and weighting)."""

    states: torch.Tensor
    targets: torch.Tensor
    key: torch.Tensor  # key number of each window, 0..n_keys-1
    key_labels: np.ndarray  # each key's argmax (model label order)

    @property
    def n_keys(self) -> int:
        return len(self.key_labels)


def _model_columns(model: EmotionModel, source: CorrectionSource, keys: Sequence[CorrectedKey]) -> np.ndarray:
    """Index of each model label among the project's labels; a ParameterError when a
    corrected key uses a label the model lacks."""
    labels = source.project.labels
    used = np.zeros(len(labels), dtype=bool)
    for key in keys:
        used |= key.values > 1e-6
    missing = [labels[i] for i in np.flatnonzero(used) if labels[i] not in model.labels]
    if missing:
        raise ParameterError(f"{source.name}: corrected keys use {', '.join(missing)}, which the model "
                             f"does not know (it knows {', '.join(model.labels)})")
    return np.array([labels.index(name) if name in labels else -1 for name in model.labels])


def _window_set(parts: list[tuple[torch.Tensor, np.ndarray, np.ndarray]],
                key_labels: list[int], device: torch.device) -> WindowSet:
    if not parts:
        raise ParameterError("no windows left to learn from")
    return WindowSet(
        states=torch.cat([p[0] for p in parts]).to(device),
        targets=torch.from_numpy(np.concatenate([p[1] for p in parts])).float().to(device),
        key=torch.from_numpy(np.concatenate([p[2] for p in parts])).long().to(device),
        key_labels=np.array(key_labels))


# --- learning --------------------------------------------------------------------------
def learn_from_corrections(
    sources: Sequence[CorrectionSource],
    base_model: str | Path | None,
    out: str | Path,
    options: LearningOptions | None = None,
    progress: Progress | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    device: str = "auto",
    log: Callable[[str], None] | None = None,
) -> CorrectionsReport:
    """Fine-tune ``base_model`` on the locked keys of ``sources`` and write it to ``out``.

    Raises ParameterError/ProjectError/ModelError with one-line messages, and
    LearningCancelled when ``is_cancelled()`` turns true (nothing is written then).
    """
    options = options or LearningOptions()
    options.validate()
    log = log or (lambda message: None)
    cancelled = is_cancelled or (lambda: False)
    base_path = emotion_model_dir(base_model).resolve()
    out = Path(out).resolve()
    if out == base_path or base_path in out.parents:
        raise ParameterError(f"--out must not be the base model's folder ({base_path}): the previous "
                             "model is kept so that it can be restored")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ParameterError(f"{out} already exists and is not empty")
    if not sources:
        raise ParameterError("no project files given")

    targets = [correction_targets(s.project, len(s.samples)) for s in sources]
    if not any(t.keys for t in targets):
        raise ParameterError("no locked keys over speech in the projects: edit or lock the keys "
                             "whose emotion is right, then learn again")
    try:
        split = split_held_out(targets, options.held_out_share)
    except ValueError as error:
        raise ParameterError(str(error)) from error

    model = EmotionModel.from_pretrained(base_path, device=device)
    columns = [_model_columns(model, s, t.keys) for s, t in zip(sources, targets)]
    # Each project's windows go to the head that read them: the actor head, against the
    # project's reference, when it has one the model can use; else the plain head.
    references = [_project_reference(model, source) for source in sources]
    readers = {"actor" if reference is not None else "plain" for reference in references}
    heads = {"plain": ClassificationHead(model) if "plain" in readers else None,
             "actor": ActorClassificationHead(model) if "actor" in readers else None}
    temperatures = {"plain": model.temperature, "actor": model.actor_temperature}
    # The model's logits in app label order, as EmotionModel reports probabilities.
    order = model.column_order

    def window_states(index: int, starts: np.ndarray, window: int) -> torch.Tensor:
        if references[index] is None:
            return pooled_states(model, sources[index].samples, starts, window)
        return actor_window_states(model, sources[index].samples, starts, window) - references[index]

    def window_sets(chosen: list[tuple[int, tuple[CorrectedKey, ...]]], end_sample: int | None,
                    stage_offset: int, stage_total: int) -> dict[str, WindowSet]:
        parts: dict[str, list] = {"plain": [], "actor": []}
        key_labels: dict[str, list[int]] = {"plain": [], "actor": []}
        for step, (index, keys) in enumerate(chosen):
            if cancelled():
                raise LearningCancelled("learning cancelled")
            target = targets[index]
            window_index, soft, owner = target.window_targets(keys)
            if end_sample is not None:  # keep held-out audio out of training
                keep = target.starts[window_index] + target.window <= end_sample
                window_index, soft, owner = window_index[keep], soft[keep], owner[keep]
            if len(window_index) == 0:
                continue
            reader = "plain" if references[index] is None else "actor"
            present = np.unique(owner)
            renumber = {int(k): len(key_labels[reader]) + i for i, k in enumerate(present)}
            soft = np.where(columns[index][None, :] >= 0, soft[:, np.maximum(columns[index], 0)], 0.0)
            soft = soft / soft.sum(axis=1, keepdims=True)
            states = window_states(index, target.starts[window_index], target.window)
            parts[reader].append((states.cpu(), soft, np.array([renumber[int(k)] for k in owner])))
            key_labels[reader] += [int(np.argmax(soft[owner == k][0])) for k in present]
            if progress is not None:
                progress("features", stage_offset + step + 1, stage_total)
        sets = {reader: _window_set(parts[reader], key_labels[reader], model.device)
                for reader in parts if parts[reader]}
        if not sets:
            raise ParameterError("no windows left to learn from")
        return sets

    n_parts = len(split.train) + len(split.held_out)
    train = window_sets(split.train, split.train_end_sample, 0, n_parts)
    held_out = window_sets(split.held_out, None, len(split.train), n_parts)
    train_keys, held_out_keys = (sum(s.n_keys for s in sets.values()) for sets in (train, held_out))
    train_windows, held_out_windows = (sum(len(s.key) for s in sets.values()) for sets in (train, held_out))
    log(json_line({"stage": "features", "train_keys": train_keys, "train_windows": train_windows,
                    "held_out_keys": held_out_keys, "held_out_windows": held_out_windows,
                    "split": split.description, "heads": sorted(train)}))

    def accuracy(sets: dict[str, WindowSet]) -> float:
        return float(np.mean(np.concatenate([_key_hits(heads[r], data, order, temperatures[r])
                                             for r, data in sets.items()])))

    before = (accuracy(held_out), accuracy(train))
    log(json_line({"stage": "before", "held_out_accuracy": round(before[0], 4),
                    "train_accuracy": round(before[1], 4)}))
    for step, (reader, data) in enumerate(sorted(train.items())):
        # One progress bar over every head's epochs.
        head_progress = progress and (lambda stage, done, total, step=step: progress(stage, step * total + done,
                                                                                     len(train) * total))
        _fine_tune(heads[reader], data, order, temperatures[reader], options, head_progress, cancelled, log)
    after = (accuracy(held_out), accuracy(train))

    used = [key for _, keys in split.train + split.held_out for key in keys]
    report = CorrectionsReport(
        base_model=None if base_model is None else str(base_model), base_model_path=str(base_path),
        output=str(out), projects=[s.name for s in sources], split=split.description,
        train_keys=train_keys, train_windows=train_windows,
        held_out_keys=held_out_keys, held_out_windows=held_out_windows,
        edited_keys=sum(k.edited for k in used), confirmed_keys=sum(not k.edited for k in used),
        silent_keys=sum(t.silent_keys for t in targets),
        accuracy_before=before[0], accuracy_after=after[0],
        train_accuracy_before=before[1], train_accuracy_after=after[1],
        options=asdict(options), created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), heads=sorted(train))
    if cancelled():
        raise LearningCancelled("learning cancelled")
    _save(model, base_path, out, report)
    log(json_line({"stage": "saved", "out": str(out), "held_out_accuracy_before": round(before[0], 4),
                    "held_out_accuracy_after": round(after[0], 4)}))
    return report


def _logits(head: nn.Module, states: torch.Tensor, order: torch.Tensor, temperature: float) -> torch.Tensor:
    """Calibrated logits in app label order."""
    return head(states)[:, order] / temperature


def _project_reference(model: EmotionModel, source: CorrectionSource) -> torch.Tensor | None:
    """What the actor head read the project's windows against, or None when the plain head
    read them (no reference, or a model without an actor head, which analyses without it)."""
    if source.project.actor is None or model.actor_head is None:
        return None
    try:
        return reference_vector(model, source.project.actor)
    except ParameterError as error:
        raise ProjectError(f"{source.name}: {error}") from error


@torch.no_grad()
def _key_hits(head: nn.Module, data: WindowSet, order: torch.Tensor, temperature: float) -> np.ndarray:
    """Whether each key's mean window probabilities peak at the key's own emotion."""
    head.eval()
    probabilities = torch.softmax(_logits(head, data.states, order, temperature), dim=-1)
    sums = torch.zeros(data.n_keys, probabilities.shape[1], device=probabilities.device)
    sums.index_add_(0, data.key, probabilities)
    return sums.argmax(dim=1).cpu().numpy() == data.key_labels


def _fine_tune(head: nn.Module, data: WindowSet, order: torch.Tensor, temperature: float,
               options: LearningOptions, progress: Progress | None, cancelled: Callable[[], bool],
               log: Callable[[str], None]) -> None:
    """Soft cross-entropy, each key weighted equally, plus L2-SP toward the base head."""
    parameters = [p for p in head.parameters()]
    anchors = [p.detach().clone() for p in parameters]
    for parameter in parameters:
        parameter.requires_grad_(True)
    # Plain Adam: weight decay would pull toward zero, L2-SP pulls toward the base model.
    optimizer = torch.optim.Adam(parameters, lr=options.lr)
    counts = torch.bincount(data.key, minlength=data.n_keys).float()
    window_weight = 1.0 / counts[data.key]
    generator = torch.Generator().manual_seed(options.seed)
    n = len(data.key)
    for epoch in range(options.epochs):
        if cancelled():
            raise LearningCancelled("learning cancelled")
        head.train()
        total = 0.0
        for batch in torch.randperm(n, generator=generator).split(options.batch_size):
            batch = batch.to(data.states.device)
            log_p = torch.log_softmax(_logits(head, data.states[batch], order, temperature), dim=-1)
            weights = window_weight[batch]
            fit = -(weights * (data.targets[batch] * log_p).sum(dim=-1)).sum() / weights.sum()
            stay = sum(((p - a) ** 2).sum() for p, a in zip(parameters, anchors))
            loss = fit + options.l2sp * stay
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(fit.detach()) * len(batch)
        log(json_line({"stage": "training", "epoch": epoch + 1, "epochs": options.epochs,
                        "loss": round(total / n, 4)}))
        if progress is not None:
            progress("training", epoch + 1, options.epochs)
    for parameter in parameters:
        parameter.requires_grad_(False)
    head.eval()


def _save(model: EmotionModel, base_path: Path, out: Path, report: CorrectionsReport) -> None:
    """Write the fine-tuned model beside ``out`` and rename it into place, so a crash or
    a full disk never leaves a half-written model where the app would look."""
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    checkpoint = checkpoint_dir(base_path)  # base_path itself, unless it is a heads folder
    try:
        network = model.model
        half = _stored_dtype(checkpoint) == torch.float16
        if half:
            # Bundled weights are fp16: keep the folder as small (the frozen encoder
            # round-trips exactly; only the head is rounded).
            network = network.to(torch.float16)
        network.save_pretrained(partial, safe_serialization=True)
        if model.plain_head is not None:  # the head that learned
            model.plain_head.save_pretrained(partial / PLAIN_FOLDER, half=half)
        if (base_path / ACTOR_FOLDER).is_dir():
            # With its voice space; it reads the frozen encoder, which learning left as it
            # was, so actor references made for the base model still fit.
            shutil.copytree(base_path / ACTOR_FOLDER, partial / ACTOR_FOLDER)
            voice_space = voice_space_folder(base_path) / VOICE_SPACE_FILE
            if voice_space.is_file() and not (partial / ACTOR_FOLDER / VOICE_SPACE_FILE).is_file():
                shutil.copy2(voice_space, partial / ACTOR_FOLDER / VOICE_SPACE_FILE)
            if "actor" in report.heads:
                model.actor_head.save_pretrained(partial / ACTOR_FOLDER, half=half)
        for name in ("preprocessor_config.json",):
            if (checkpoint / name).is_file():
                shutil.copy2(checkpoint / name, partial / name)
        if model.whisper is not None and not (partial / "preprocessor_config.json").is_file():
            from transformers import WhisperFeatureExtractor

            WhisperFeatureExtractor(feature_size=network.config.num_mel_bins).save_pretrained(partial)
        _keep_temperature(checkpoint, partial)
        (partial / REPORT_FILE).write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
        if out.is_dir():
            out.rmdir()  # empty (checked before training)
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _keep_temperature(checkpoint: Path, folder: Path) -> None:
    """The base model's calibrated temperature (or its absence) in the new config."""
    base = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.pop("emotrack_temperature", None)
    if "emotrack_temperature" in base:
        config["emotrack_temperature"] = base["emotrack_temperature"]
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _stored_dtype(checkpoint: Path) -> torch.dtype:
    """The float type of the base model's weight file (float32 when it cannot tell)."""
    weights = checkpoint / "model.safetensors"
    if not weights.is_file():
        return torch.float32
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as handle:
        for name in handle.keys():
            if handle.get_slice(name).get_dtype() == "F16":
                return torch.float16
    return torch.float32


# --- command line ----------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = LearningOptions()
    parser.add_argument("--from-projects", nargs="*", type=Path, default=[], metavar="PROJECT",
                        help="corrected .emotrack projects (or folders of them); their locked keys are the labels")
    parser.add_argument("--model", default=None,
                        help="the model to start from: 'accurate', 'fast' or a folder (default: the bundled default)")
    parser.add_argument("--out", required=True, type=Path,
                        help="folder for the new model (must not exist or be empty; never the base model's)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--l2sp", type=float, default=defaults.l2sp,
                        help="pull of the head's weights toward the base model's (guards against forgetting)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--held-out-share", type=float, default=defaults.held_out_share,
                        help="share of projects (or of one project's keys) held out to measure accuracy")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    """``emotrack train emotion --from-projects ...``: learn, print the summary."""
    if args.threads is not None:
        if args.threads < 1:
            raise ParameterError("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    options = LearningOptions(epochs=args.epochs, lr=args.lr, l2sp=args.l2sp, batch_size=args.batch_size,
                              held_out_share=args.held_out_share, seed=args.seed)
    options.validate()
    sources = load_sources(args.from_projects)
    report = learn_from_corrections(sources, args.model, args.out, options, device=args.device, log=_log)
    print(report.summary())
    return 0


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
